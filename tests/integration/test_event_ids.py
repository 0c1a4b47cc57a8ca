"""A 202 is never a silent drop: an event_id a client reuses for another event is refused
with 409 wherever ingest can tell (before and after the tracker applies the first), and a
retry of the same event is accepted again."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from shipnotify.config import Settings
from shipnotify.devstack.processes import free_port
from shipnotify.ingest import app as ingest_app
from shipnotify.store import TrackingStore, connect
from tests.offsets import read_all

from .conftest import (
    Api,
    api_key,
    courier,
    eventually,
    registration,
    running_tracker,
    tap,
)


def sid() -> str:
    return f"ids-{uuid.uuid4().hex[:8]}"


async def post_tap(api: Api, settings: Settings, shipment: str, body: dict[str, Any]) -> Any:
    return await api.post(f"/v1/shipments/{shipment}/events", json=body, headers=courier(settings))


async def test_a_retry_is_accepted_and_another_event_under_its_id_is_409(
    api: Api, settings: Settings
) -> None:
    shipment = sid()
    first = tap("picked_up")
    for _ in range(2):
        assert (await post_tap(api, settings, shipment, first)).status == 202
    for changed in (
        {"status": "delivered"},
        {"occurred_at": tap("x", minutes_ago=3)["occurred_at"]},
    ):
        resp = await post_tap(api, settings, shipment, {**first, **changed})
        assert resp.status == 409, await resp.text()
        body = await resp.json()
        assert body["error"] == "conflict"
        assert list(body["fields"]) == ["event_id"]
    records = await read_all(settings, settings.events_topic)  # each answered once written
    assert len(records) == 2  # the two copies of the first; nothing of the others


async def test_ingest_still_knows_once_the_tracker_applied_the_event(
    api: Api, settings: Settings
) -> None:
    shipment = sid()
    first = tap("picked_up")
    async with running_tracker(settings):
        assert (await post_tap(api, settings, shipment, first)).status == 202
        redis = connect(settings)
        store = TrackingStore(redis)

        async def applied() -> bool:
            return (await store.shipment(shipment)) is not None

        await eventually(applied)
        await redis.aclose()
    assert (await post_tap(api, settings, shipment, first)).status == 202  # a retry
    other = await post_tap(api, settings, shipment, {**first, "status": "delivered"})
    assert other.status == 409


async def test_a_batch_refuses_only_the_items_that_reuse_an_id(
    api: Api, settings: Settings
) -> None:
    shipment = sid()
    taken = tap("picked_up")
    assert (await post_tap(api, settings, shipment, taken)).status == 202
    twin = tap("in_transit")
    items = [
        {**taken, "shipment_id": shipment},  # a retry: fine
        {**taken, "status": "delivered", "shipment_id": shipment},  # another event: no
        {**twin, "shipment_id": shipment},
        {**twin, "status": "out_for_delivery", "shipment_id": shipment},  # within the batch
    ]
    resp = await api.post("/v1/events:batch", json={"events": items}, headers=courier(settings))
    assert resp.status == 200
    result = await resp.json()
    assert [r["result"] for r in result["results"]] == [
        "accepted",
        "rejected",
        "accepted",
        "rejected",
    ]
    assert list(result["results"][1]["fields"]) == ["events.1.event_id"]
    assert list(result["results"][3]["fields"]) == ["events.3.event_id"]


async def test_a_registration_with_its_own_event_id(api: Api, settings: Settings) -> None:
    shipment, event_id = sid(), str(uuid.uuid4())
    body = {**registration(shipment), "event_id": event_id}
    for _ in range(2):
        resp = await api.post("/v1/shipments", json=body, headers=api_key(settings))
        assert resp.status == 202
    changed = {**body, "recipient": {"contacts": [{"name": "Eve", "email": "eve@example.com"}]}}
    resp = await api.post("/v1/shipments", json=changed, headers=api_key(settings))
    assert resp.status == 409
    tapped = await post_tap(api, settings, shipment, {**tap("picked_up"), "event_id": event_id})
    assert tapped.status == 409  # a registration's id is no tap's


async def test_without_redis_ingest_accepts_and_leaves_the_check_to_the_tracker(
    settings: Settings,
) -> None:
    no_redis = settings.with_(redis_url=f"redis://127.0.0.1:{free_port()}/0", redis_cluster=False)
    labels = {"verdict": "unchecked"}
    before = REGISTRY.get_sample_value("shipnotify_event_id_checks_total", labels) or 0
    async with TestClient(TestServer(ingest_app.init_app(no_redis))) as client:

        async def ready() -> bool:
            return (await client.get("/readyz")).status == 200

        await eventually(ready)
        resp = await client.post(
            f"/v1/shipments/{sid()}/events", json=tap("picked_up"), headers=courier(settings)
        )
    assert resp.status == 202
    assert REGISTRY.get_sample_value("shipnotify_event_id_checks_total", labels) == before + 1


async def test_a_redis_that_forgot_the_script_still_tells(
    api: Api, settings: Settings, redis: Redis
) -> None:
    shipment = sid()
    first = tap("picked_up")
    assert (await post_tap(api, settings, shipment, first)).status == 202
    await redis.script_flush()  # as a restarted Redis has no scripts
    other = await post_tap(api, settings, shipment, {**first, "status": "delivered"})
    assert other.status == 409
