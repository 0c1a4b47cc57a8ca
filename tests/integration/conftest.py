"""Integration fixtures: the HTTP services on a loopback port and the tracker as a task."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from opentelemetry.trace import Tracer
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from shipnotify import kafka, web
from shipnotify.config import Settings
from shipnotify.devstack.mail_sandbox import MailSandbox
from shipnotify.hooks import app as hooks_app
from shipnotify.ingest import app as ingest_app
from shipnotify.status_api import app as status_app
from shipnotify.status_api.limits import WINDOW_S
from shipnotify.store.notices import NoticeBook
from shipnotify.tracker import service
from shipnotify.tracker.notices import NoticePlanner, plan_notices
from shipnotify.web.auth import issue_courier_token
from tests.offsets import consumed

T = TypeVar("T")
Api = TestClient[Any, Any]


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Api]:
    """ingest, status_api and hooks in one app, as `shipnotify dev` serves them."""
    await kafka.ensure_topics(settings)
    app = web.new_app(settings.max_body_bytes)
    ingest_app.install(app, settings)
    status_app.install(app, settings)
    hooks_app.install(app, settings)
    async with TestClient(TestServer(app)) as client:
        await eventually(lambda: _ready(app))
        yield client


async def _ready(app: Any) -> bool:
    return bool(app[ingest_app.EVENT_LOG].ready)


class WindowClock:
    """The rate limit's clock, standing still in a minute of the test's own far from now:
    the test's counts share no Redis key with another test's, and its window never turns
    over between two of its requests."""

    def __init__(self) -> None:
        minute = 10**9 + uuid.uuid4().int % 10**9  # some minute of the years 3900 to 5700
        self.now = minute * WINDOW_S + 1.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> WindowClock:
    return WindowClock()


@pytest.fixture
def mail() -> Iterator[MailSandbox]:
    """A real SMTP server on loopback (aiosmtpd), for the test alone."""
    with MailSandbox() as sandbox:
        yield sandbox


@asynccontextmanager
async def running_tracker(
    settings: Settings, plan: NoticePlanner | None = plan_notices, *, tracer: Tracer | None = None
) -> AsyncIterator[asyncio.Task[None]]:
    """The tracker, both its loops. `plan`: the status notices alone unless a test says (None:
    the service's own, status notices and surveys)."""
    stop = asyncio.Event()
    task = asyncio.create_task(service.serve(settings, stop, plan=plan, tracer=tracer))
    try:
        yield task
    finally:
        stop.set()
        await task


async def eventually(check: Callable[[], Awaitable[T | None]], timeout_s: float = 20.0) -> T:
    """Polls until check() returns something truthy; returns it."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s: last {result!r}")
        await asyncio.sleep(0.05)


async def notifier_idle(settings: Settings, redis: Redis) -> bool:
    """Whether the notifier has taken every job and finished every notice: nothing is due
    (a notice is due from when it is taken until it is final, or retried or deferred)."""
    book = NoticeBook(redis, settings.notifications_topic)
    return (
        await consumed(settings, settings.notifier_group, settings.notifications_topic)
        and await book.pending() == 0
    )


async def settled(settings: Settings, redis: Redis) -> bool:
    """Whether every tap has been applied, every job it made taken, and every notice
    finished: whatever the running tracker and notifier would still do, they have done."""
    return await consumed(
        settings, settings.tracker_group, settings.events_topic
    ) and await notifier_idle(settings, redis)


def unique(name: str) -> str:
    """A shipment id (or any name) no other test uses: Redis keeps a shipment's keys by id."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


def courier(settings: Settings, courier_id: str = "courier-1") -> dict[str, str]:
    token = issue_courier_token(settings.courier_token_secret, courier_id, 600)
    return {"Authorization": f"Bearer {token}"}


def api_key(settings: Settings) -> dict[str, str]:
    return {"X-Api-Key": settings.api_keys[0]}


def tap(status: str, *, minutes_ago: float = 0, **extra: Any) -> dict[str, Any]:
    when = datetime.now(UTC) - timedelta(minutes=minutes_ago, milliseconds=1)
    return {
        "event_id": str(uuid.uuid4()),
        "occurred_at": when.isoformat(),
        "status": status,
        **extra,
    }


def registration(shipment_id: str) -> dict[str, Any]:
    return {
        "shipment_id": shipment_id,
        "sender": {
            "contacts": [
                {
                    "name": "Ana Popescu",
                    "phone": "+40721234567",
                    "email": "ana@example.com",
                    "locale": "ro",
                }
            ]
        },
        "recipient": {"contacts": [{"name": "Ion Rusu", "email": "ion@example.com"}]},
    }


async def register(client: Api, settings: Settings, shipment_id: str) -> str:
    resp = await client.post(
        "/v1/shipments", json=registration(shipment_id), headers=api_key(settings)
    )
    assert resp.status == 202, await resp.text()
    tracking_id: str = (await resp.json())["tracking_id"]
    return tracking_id


async def read_topic(
    settings: Settings, topic: str, count: int, timeout_s: float = 15.0
) -> Sequence[ConsumerRecord]:
    """Reads the records of a topic from its start (no group): `count` of them, or more
    when more come in the same fetch."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[ConsumerRecord] = []
    try:
        async with asyncio.timeout(timeout_s):
            while len(records) < count:
                batch = await consumer.getmany(timeout_ms=200)
                records.extend(r for recs in batch.values() for r in recs)
    finally:
        await consumer.stop()
    return records


# -- pub/sub as Redis sees it, on one Redis or across a cluster's nodes


async def pubsub_clients(redis: Redis) -> int:
    """Connections in pub/sub mode: one a node that holds a subscribed channel."""
    if isinstance(redis, RedisCluster):
        per_node = await redis.client_list(_type="pubsub", target_nodes=RedisCluster.PRIMARIES)
        return sum(len(clients) for clients in per_node.values())
    return len(await redis.client_list(_type="pubsub"))


def nodes_of(redis: Redis, channels: Sequence[str]) -> int:
    """How many connections a subscriber to `channels` needs: one a node."""
    if isinstance(redis, RedisCluster):
        return len({redis.get_node_from_key(c).name for c in channels})
    return 1


async def shard_subscribers(redis: Redis, channels: Sequence[str]) -> list[int]:
    if isinstance(redis, RedisCluster):
        counts = []
        for channel in channels:  # each on the node that owns its slot
            node = redis.get_node_from_key(channel)
            reply = await redis.execute_command("PUBSUB", "SHARDNUMSUB", channel, target_nodes=node)
            counts.append(int(reply[1]))
        return counts
    return [n for _, n in await redis.pubsub_shardnumsub(*channels)]


async def kill_pubsub_clients(redis: Redis) -> None:
    if isinstance(redis, RedisCluster):
        await redis.client_kill_filter(_type="pubsub", target_nodes=RedisCluster.PRIMARIES)
        return
    await redis.client_kill_filter(_type="pubsub")
