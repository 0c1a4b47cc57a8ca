"""The tracker's webhook planning against a real redis-server: an owned shipment's status
that moved it forward makes one job per endpoint of its account that hears it; a late
status, the carrier's own shipments and an account without endpoints make none."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import orjson
import pytest
from redis.asyncio import Redis

from shipnotify.model import webhooks as wh
from shipnotify.model.status import Status
from shipnotify.store import Applied, keys
from shipnotify.tracker.webhooks import WebhookPlanner
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb


@pytest.fixture
async def redis_only(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


def status_event(shipment_id: str, status: pb.Status, *, depot: str = "") -> pb.ShipmentEvent:
    event = pb.ShipmentEvent(
        event_id=str(uuid.uuid4()),
        shipment_id=shipment_id,
        status_changed=pb.StatusChanged(status=status),
    )
    if depot:
        event.status_changed.location.depot = depot
    event.occurred_at.FromMilliseconds(1_780_000_000_000)
    event.recorded_at.FromMilliseconds(1_780_000_000_500)
    return event


def applied(event: pb.ShipmentEvent, *, advanced: bool, version: int) -> Applied:
    return Applied(event, duplicate=False, advanced=advanced, previous=None, version=version)


async def an_account(redis: Redis, *endpoints: apb.Endpoint) -> str:
    account_id = "acct_" + uuid.uuid4().hex[:12]
    for endpoint in endpoints:
        await redis.hset(
            keys.account_endpoints_key(account_id),
            endpoint.endpoint_id,
            endpoint.SerializeToString(),
        )
    return account_id


async def test_an_owned_shipment_moving_forward_tells_its_endpoints(redis_only: Redis) -> None:
    account = await an_account(
        redis_only,
        apb.Endpoint(endpoint_id="ep_all", url="https://a.example"),
        apb.Endpoint(endpoint_id="ep_cases", url="https://b.example", event_types=["case.opened"]),
        apb.Endpoint(endpoint_id="ep_off", url="https://c.example", disabled=True),
    )
    owned, carriers = "S-" + uuid.uuid4().hex, "S-" + uuid.uuid4().hex
    await redis_only.set(keys.owner_key(owned), account)
    moved = status_event(owned, pb.STATUS_OUT_FOR_DELIVERY, depot="North")
    late = status_event(owned, pb.STATUS_IN_TRANSIT)
    theirs = status_event(carriers, pb.STATUS_OUT_FOR_DELIVERY)
    planner = WebhookPlanner(redis_only, tracking_id_secret="secret")
    batch = [
        (applied(moved, advanced=True, version=4), 0),
        (applied(late, advanced=False, version=4), 1),
        (applied(theirs, advanced=True, version=2), 2),
    ]
    records = await planner.plan(batch, [[], [], []])
    assert len(records) == 1
    key, value = records[0][0], records[0][1]
    assert key == owned.encode()
    job = npb.NotificationJob.FromString(value)
    assert job.channel == pb.CHANNEL_WEBHOOK
    assert job.address == "ep_all"
    assert job.webhook.account_id == account
    assert job.webhook.message_id == wh.message_id(wh.STATUS_CHANGED, moved.event_id)
    body = orjson.loads(job.webhook.payload)
    assert body["type"] == "shipment.status_changed"
    assert body["data"]["version"] == 4
    assert body["data"]["status"] == Status.OUT_FOR_DELIVERY.value
    assert body["data"]["shipment_id"] == owned
    assert body["data"]["location"] == {"depot": "North"}
    # a redelivered event plans the very same bytes
    again = await planner.plan(batch, [[], [], []])
    assert again == records


async def test_no_endpoints_no_jobs(redis_only: Redis) -> None:
    account = await an_account(redis_only)
    owned = "S-" + uuid.uuid4().hex
    await redis_only.set(keys.owner_key(owned), account)
    planner = WebhookPlanner(redis_only, tracking_id_secret="secret")
    event = status_event(owned, pb.STATUS_PICKED_UP)
    assert await planner.plan([(applied(event, advanced=True, version=2), 0)], [[]]) == []
