"""Live updates over server-sent events, resumable with Last-Event-ID, and the rate limit."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from shipnotify import web
from shipnotify.config import Settings
from shipnotify.status_api import app as status_app

from .conftest import Api, courier, eventually, register, running_tracker, tap


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


async def test_a_posted_status_reaches_an_open_stream_within_a_second(
    api: Api, settings: Settings
) -> None:
    async with running_tracker(settings):
        tid = await register(api, settings, "live-1")

        async def registered() -> bool:
            return (await api.get(f"/v1/track/{tid}")).status == 200

        await eventually(registered)
        resp = await api.get(f"/v1/track/{tid}/events", params={"lang": "ru"})
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        first_id, first = await next_event(resp)
        assert first["status"] == "registered"
        assert first["label"] == "Зарегистрировано"

        loop = asyncio.get_running_loop()
        sent_at = loop.time()
        resp_post = await api.post(
            "/v1/shipments/live-1/events", json=tap("picked_up"), headers=courier(settings)
        )
        assert resp_post.status == 202
        second_id, second = await next_event(resp, timeout_s=1.0)  # within one second
        took = loop.time() - sent_at
        resp.close()
    assert second["status"] == "picked_up"
    assert second_id > first_id
    assert took < 1.0

    # A page that lost its connection after the first event resumes without a loss.
    resumed = await api.get(f"/v1/track/{tid}/events", headers={"Last-Event-ID": first_id})
    missed_id, missed = await next_event(resumed)
    assert (missed_id, missed["status"]) == (second_id, "picked_up")
    resumed.close()


async def test_a_stream_for_an_unknown_id_is_404(api: Api) -> None:
    resp = await api.get("/v1/track/nosuchtrackingid0000/events")
    assert resp.status == 404
    assert (await resp.json())["fields"] == {"tracking_id": "unknown"}


async def test_public_routes_are_rate_limited_per_client(settings: Settings, redis: Redis) -> None:
    for key in await redis.keys("rl:*"):  # other tests' counts from this address
        await redis.delete(key)
    if 60 - time.time() % 60 < 3:  # keep the requests inside one window
        await asyncio.sleep(60 - time.time() % 60)
    limited = settings.with_(track_requests_per_minute=5)
    app = web.new_app(limited.max_body_bytes)
    status_app.install(app, limited)
    async with TestClient(TestServer(app)) as client:
        statuses = [(await client.get("/v1/track/unknowntracking00000")).status for _ in range(7)]
        assert statuses[:5] == [404] * 5
        resp = await client.get("/v1/track/unknowntracking00000")
        assert resp.status == 429
        assert 1 <= int(resp.headers["Retry-After"]) <= 60
        assert (await resp.json())["error"] == "too_many_requests"
    assert statuses[5:] == [429, 429]


async def test_the_tracking_page_renders_on_the_server(api: Api, settings: Settings) -> None:
    async with running_tracker(settings):
        tid = await register(api, settings, "page-1")
        await post_status(api, settings, "page-1", "out_for_delivery")

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
