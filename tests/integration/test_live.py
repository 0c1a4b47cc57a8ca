"""Live updates over server-sent events, resumable with Last-Event-ID, and the rate limit."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from itertools import count
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp import web as aioweb
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request
from pydantic import BaseModel
from redis.asyncio import Redis

from shipnotify import web
from shipnotify.config import Settings
from shipnotify.model.status import Status
from shipnotify.status_api import app as status_app
from shipnotify.status_api import live
from shipnotify.status_api.limits import RateLimit
from shipnotify.store import TrackingStore
from shipnotify.store.keys import shipment_keys
from shipnotify.v1 import shipment_events_pb2 as pb

from .conftest import (
    Api,
    WindowClock,
    courier,
    eventually,
    nodes_of,
    pubsub_clients,
    register,
    running_tracker,
    shard_subscribers,
    tap,
    unique,
)


async def next_event(resp: ClientResponse, timeout_s: float = 5.0) -> tuple[str, dict[str, Any]]:
    """Reads one `update` event: (its id, its data)."""
    event_id, data = "", ""
    async with asyncio.timeout(timeout_s):
        while True:
            line = (await resp.content.readline()).decode().rstrip("\n")
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("data: "):
                data = line[6:]
            elif line == "" and data:
                return event_id, json.loads(data)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No keepalive within a test's time: an update a page gets came by its announcement."""
    return settings.with_(live_keepalive_s=3600)


async def test_a_posted_status_reaches_an_open_stream_as_it_is_applied(
    api: Api, settings: Settings
) -> None:
    sid = unique("live")
    async with running_tracker(settings):
        tid = await register(api, settings, sid)

        async def registered() -> bool:
            return (await api.get(f"/v1/track/{tid}")).status == 200

        await eventually(registered)
        resp = await api.get(f"/v1/track/{tid}/events", params={"lang": "ru"})
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        first_id, first = await next_event(resp)
        assert first["status"] == "registered"
        assert first["label"] == "Зарегистрировано"

        resp_post = await api.post(
            f"/v1/shipments/{sid}/events", json=tap("picked_up"), headers=courier(settings)
        )
        assert resp_post.status == 202
        second_id, second = await next_event(resp, timeout_s=10.0)  # pushed: no keepalive
        resp.close()
    assert second["status"] == "picked_up"
    assert int(second_id) > int(first_id)  # ids are the shipment's versions

    # A page that lost its connection after the first event resumes without a loss.
    resumed = await api.get(f"/v1/track/{tid}/events", headers={"Last-Event-ID": first_id})
    missed_id, missed = await next_event(resumed)
    assert (missed_id, missed["status"]) == (second_id, "picked_up")
    resumed.close()


async def test_a_stream_for_an_unknown_id_is_404(api: Api) -> None:
    resp = await api.get("/v1/track/nosuchtrackingid0000/events")
    assert resp.status == 404
    assert (await resp.json())["fields"] == {"tracking_id": "unknown"}


async def test_public_routes_are_rate_limited_per_client(
    settings: Settings, clock: WindowClock
) -> None:
    limited = settings.with_(track_requests_per_minute=5)
    app = web.new_app(limited.max_body_bytes)
    status_app.install(app, limited, clock=clock)
    async with TestClient(TestServer(app)) as client:
        statuses = [(await client.get("/v1/track/unknowntracking00000")).status for _ in range(7)]
        assert statuses[:5] == [404] * 5
        resp = await client.get("/v1/track/unknowntracking00000")
        assert resp.status == 429
        assert 1 <= int(resp.headers["Retry-After"]) <= 60
        assert (await resp.json())["error"] == "too_many_requests"
    assert statuses[5:] == [429, 429]


async def test_the_tracking_page_renders_on_the_server(api: Api, settings: Settings) -> None:
    sid = unique("page")
    async with running_tracker(settings):
        tid = await register(api, settings, sid)
        await post_status(api, settings, sid, "out_for_delivery")

        async def out() -> bool:
            resp = await api.get(f"/v1/track/{tid}")
            return resp.status == 200 and (await resp.json())["status"] == "out_for_delivery"

        await eventually(out)
    resp = await api.get(f"/t/{tid}", headers={"Accept-Language": "ro"})
    assert resp.status == 200
    assert resp.content_type == "text/html"
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    html = await resp.text()
    assert '<html lang="ro"' in html
    assert "În curs de livrare" in html
    assert "Ana" not in html  # no personal data
    assert "+40721234567" not in html
    missing = await api.get("/t/nosuchtrackingid0000")
    assert missing.status == 404
    assert missing.content_type == "text/html"


async def post_status(api: Api, settings: Settings, shipment_id: str, status: str) -> None:
    resp = await api.post(
        f"/v1/shipments/{shipment_id}/events", json=tap(status), headers=courier(settings)
    )
    assert resp.status == 202


_clock = count(int(time.time() * 1000))  # distinct, rising occurred_at of the events below


def event(shipment_id: str, status: Status, tracking_id: str = "") -> pb.ShipmentEvent:
    e = pb.ShipmentEvent(event_id=str(uuid.uuid4()), shipment_id=shipment_id)
    e.occurred_at.FromMilliseconds(next(_clock))
    if status is Status.REGISTERED:
        e.registered.tracking_id = tracking_id
    else:
        e.status_changed.status = status.proto
    return e


async def registered(store: TrackingStore) -> tuple[str, str]:
    """A new shipment written straight to Redis (no broker): its id and tracking id."""
    sid, tid = f"live-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:20]
    await store.apply([event(sid, Status.REGISTERED, tid)])
    return sid, tid


async def test_no_update_is_lost_across_a_reconnect_with_last_event_id(
    settings: Settings, redis: Redis
) -> None:
    store = TrackingStore(redis)
    sid, tid = await registered(store)
    app = status_app.init_app(settings.with_(live_keepalive_s=30))  # only changes wake a page
    async with TestClient(TestServer(app)) as client:
        page = await client.get(f"/v1/track/{tid}/events")
        seen, first = await next_event(page)
        assert first["status"] == "registered"
        page.close()
        # Two changes while the page is away: it gets both at once when it comes back.
        await store.apply([event(sid, Status.PICKED_UP), event(sid, Status.IN_TRANSIT)])
        page = await client.get(f"/v1/track/{tid}/events", headers={"Last-Event-ID": seen})
        seen, missed = await next_event(page)
        assert [i["status"] for i in missed["timeline"]] == [
            "registered",
            "picked_up",
            "in_transit",
        ]
        page.close()
        # Back with the newest id: nothing to send until the next change, sent at once.
        page = await client.get(f"/v1/track/{tid}/events", headers={"Last-Event-ID": seen})
        with pytest.raises(TimeoutError):  # a quiet while: nothing to observe but silence
            await next_event(page, timeout_s=0.3)
        await store.apply([event(sid, Status.OUT_FOR_DELIVERY)])
        latest_id, latest = await next_event(page)
        assert (int(latest_id), latest["status"]) == (int(seen) + 1, "out_for_delivery")
        page.close()
        assert not await redis.exists(shipment_keys(sid)[3])  # live pages cost Redis nothing
        # An id this shipment never gave (a stream id of the older service): the snapshot.
        page = await client.get(f"/v1/track/{tid}/events", headers={"Last-Event-ID": "17-0"})
        assert (await next_event(page))[0] == latest_id
        page.close()


class Snap(BaseModel):
    status: str


async def test_a_change_right_after_the_first_read_still_wakes_the_page(
    redis: Redis,
) -> None:
    """The page subscribes before it reads: a change between its read and its wait is
    announced to it, not left for the next keepalive (30 s here)."""
    store = TrackingStore(redis)
    sid, _ = await registered(store)
    reads = 0

    async def snapshot() -> tuple[str, BaseModel] | None:
        nonlocal reads
        reads += 1
        shipment = await store.shipment(sid)
        assert shipment is not None
        if reads == 1:
            await store.apply([event(sid, Status.PICKED_UP)])  # just after this read
        return str(shipment.version), Snap(status=shipment.status.value)

    async def handler(request: aioweb.Request) -> aioweb.StreamResponse:
        return await live.stream(request, store, sid, snapshot, keepalive_s=30)

    app = aioweb.Application()
    app.router.add_get("/events", handler)
    async with TestClient(TestServer(app)) as client:
        page = await client.get("/events")
        assert (await next_event(page))[1] == {"status": "registered"}
        assert (await next_event(page))[1] == {"status": "picked_up"}
        page.close()


async def test_open_pages_share_one_pubsub_connection_and_give_it_back(
    settings: Settings, redis: Redis
) -> None:
    store = TrackingStore(redis)
    (a, ta), (b, tb) = await registered(store), await registered(store)
    channels = [shipment_keys(a)[3], shipment_keys(b)[3]]
    before = await pubsub_clients(redis)
    app = status_app.init_app(settings.with_(live_keepalive_s=0.2))  # closed pages found soon
    async with TestClient(TestServer(app)) as client:
        pages = [await client.get(f"/v1/track/{t}/events") for t in (ta, ta, tb)]
        for page in pages:
            await next_event(page)
        assert await pubsub_clients(redis) == before + nodes_of(redis, channels)
        assert await shard_subscribers(redis, channels) == [1, 1]
        await store.apply([event(a, Status.PICKED_UP)])
        for page in pages[:2]:
            assert (await next_event(page))[1]["status"] == "picked_up"
        for page in pages:
            page.close()

        async def given_back() -> bool:
            return await pubsub_clients(redis) == before

        await eventually(given_back, timeout_s=5)


async def test_a_change_whose_announcement_was_lost_comes_with_the_next_keepalive(
    settings: Settings, redis: Redis
) -> None:
    """Pub/sub delivers at most once (a reconnect drops what was published meanwhile): at
    each keepalive a page looks at the shipment's version too."""
    store = TrackingStore(redis)
    sid, tid = await registered(store)
    app = status_app.init_app(settings.with_(live_keepalive_s=0.3))
    async with TestClient(TestServer(app)) as client:
        page = await client.get(f"/v1/track/{tid}/events")
        seen, _ = await next_event(page)
        state = shipment_keys(sid)[0]
        await redis.hset(state, "s", "picked_up")  # a change without its announcement
        await redis.hincrby(state, "v", 1)
        got_id, got = await next_event(page, timeout_s=2.0)
        assert (int(got_id), got["status"]) == (int(seen) + 1, "picked_up")
        page.close()


async def test_instances_count_a_client_together_through_redis(
    redis: Redis, clock: WindowClock
) -> None:
    """Each instance counts in memory and adds its counts to Redis at each flush; after a
    flush it knows what the others counted."""
    a, b = RateLimit(redis, per_minute=5, clock=clock), RateLimit(redis, per_minute=5, clock=clock)
    request = make_mocked_request("GET", "/v1/track/x")
    for _ in range(3):
        await a.check(request)
    await a.flush()
    await b.check(request)
    await b.flush()  # b learns that 4 were counted
    await b.check(request)  # the 5th
    with pytest.raises(web.ApiError) as refused:
        await b.check(request)
    assert refused.value.status == 429
    assert refused.value.headers["Retry-After"]


async def test_requests_counted_while_a_flush_is_in_flight_still_count(
    redis: Redis, clock: WindowClock
) -> None:
    """A flush hands its counts to Redis and waits for the totals: a request checked
    meanwhile sees those counts too, so the limit holds at the flush's moment."""
    limit = RateLimit(redis, per_minute=2, clock=clock)
    request = make_mocked_request("GET", "/v1/track/x")
    await limit.check(request)
    await limit.check(request)
    flushing = asyncio.create_task(limit.flush())
    await asyncio.sleep(0)  # the flush has sent its counts; Redis's answer is not read yet
    assert not flushing.done()
    with pytest.raises(web.ApiError) as refused:
        await limit.check(request)  # the 3rd
    assert refused.value.status == 429
    await flushing
    with pytest.raises(web.ApiError):
        await limit.check(request)
