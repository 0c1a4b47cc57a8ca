"""The tracker tells a Redis error that fails every time from one that passes: an event
Redis refuses whatever happens (an error inside the script) goes to the dead letters with
the reason and the rest of its batch is applied; a busy, read-only (failing over) or
unreachable Redis only delays the batch. An event whose id is already another event's goes
to the dead letters too."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from redis.exceptions import BusyLoadingError, ConnectionError, NoScriptError, ResponseError
from structlog.testing import capture_logs

from shipnotify.config import Settings
from shipnotify.devstack import processes
from shipnotify.model.status import Status
from shipnotify.store import TrackingStore
from shipnotify.store.keys import shipment_keys
from shipnotify.store.tracking import fails_every_time
from shipnotify.v1 import shipment_events_pb2 as pb
from tests.offsets import consumed, read_all

from .conftest import eventually, read_topic, running_tracker
from .test_dead_letters import produce, registration_event, status_event

# A script that keeps Redis busy for 4 s (BUSY to everyone else after the threshold): time
# enough for the events to be produced and the tracker to meet it, even on a loaded machine.
_BUSY_LUA = """
local t = redis.call('TIME')
local start = t[1] * 1000000 + t[2]
repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] - start > 4000000
return 1
"""


def dead_letters(settings: Settings, reason: str) -> float:
    labels = {"topic": settings.events_dead_letter_topic, "reason": reason}
    return REGISTRY.get_sample_value("shipnotify_dead_letters_total", labels) or 0.0


async def produce_events(settings: Settings, events: list[pb.ShipmentEvent]) -> None:
    await produce(
        settings,
        settings.events_topic,
        [(e.shipment_id.encode(), e.SerializeToString()) for e in events],
    )


def walk(sid: str) -> list[pb.ShipmentEvent]:
    return [registration_event(sid), status_event(sid, Status.PICKED_UP)]


async def applied(store: TrackingStore, sids: list[str], status: Status) -> bool:
    shipments = [await store.shipment(sid) for sid in sids]
    return all(s is not None and s.status is status for s in shipments)


@asynccontextmanager
async def own_redis(settings: Settings, workdir: Path) -> AsyncIterator[tuple[Settings, Redis]]:
    """A redis-server of the test's own, to be made busy, read-only or unreachable."""
    with processes.redis_server(workdir) as server:
        own = settings.with_(redis_url=server.address, redis_cluster=False)
        client = Redis.from_url(server.address)
        try:
            yield own, client
        finally:
            await client.aclose()


@pytest.mark.parametrize(
    ("error", "every_time"),
    [
        ("WRONGTYPE Operation against a key holding the wrong kind of value script: 0a, on"
         " @user_script:28.", True),
        ("ERR user_script:9: Script attempted to access nonexistent global variable 'x'"
         " script: 0a, on @user_script:9.", True),
        ("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN"
         " NOSAVE.", False),
        ("READONLY You can't write against a read only replica. script: 0a, on"
         " @user_script:1.", False),
        ("OOM command not allowed when used memory > 'maxmemory'. script: 0a, on"
         " @user_script:1.", False),
        ("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
         False),
        ("CLUSTERDOWN The cluster is down", False),
        ("WRONGTYPE Operation against a key holding the wrong kind of value", False),
    ],
)  # fmt: skip
def test_which_errors_fail_every_time(error: str, every_time: bool) -> None:
    """Messages as redis-server 7 answers them; only an error from inside the script that
    is not about the server's state is the event's."""
    assert fails_every_time(ResponseError(error)) is every_time


def test_errors_of_the_connection_or_a_forgotten_script_pass() -> None:
    for error in (ConnectionError("lost"), NoScriptError("NOSCRIPT"), BusyLoadingError("x")):
        assert not fails_every_time(error)


async def test_an_event_redis_always_refuses_is_dead_lettered_and_its_batch_applied(
    settings: Settings, redis: Redis
) -> None:
    good = [f"ok-{uuid.uuid4().hex[:8]}" for _ in range(6)]
    poisoned = f"bad-{uuid.uuid4().hex[:8]}"
    await redis.set(shipment_keys(poisoned)[1], "not a hash")  # its timeline: wrong type
    refused = status_event(poisoned, Status.PICKED_UP)
    events = [e for sid in good[:3] for e in walk(sid)] + [refused]
    events += [e for sid in good[3:] for e in walk(sid)]
    before = dead_letters(settings, "refused")
    async with running_tracker(settings):
        await produce_events(settings, events)
        [letter] = await read_topic(settings, settings.events_dead_letter_topic, 1, 20)
        await eventually(lambda: applied(TrackingStore(redis), good, Status.PICKED_UP))
    assert letter.value == refused.SerializeToString()
    assert dict(letter.headers)["reason"].decode().startswith("Redis fails on it every time:")
    assert b"WRONGTYPE" in dict(letter.headers)["reason"]
    assert dead_letters(settings, "refused") == before + 1


async def test_an_event_id_already_another_events_is_dead_lettered_not_applied(
    settings: Settings, redis: Redis
) -> None:
    sid = f"dup-{uuid.uuid4().hex[:8]}"
    first = status_event(sid, Status.PICKED_UP)
    retried = pb.ShipmentEvent()
    retried.CopyFrom(first)
    retried.recorded_at.FromMilliseconds(first.recorded_at.ToMilliseconds() + 5000)  # a retry
    other = pb.ShipmentEvent()
    other.CopyFrom(first)
    other.status_changed.status = pb.STATUS_DELIVERED  # a bug: the same id, another tap
    before = dead_letters(settings, "conflict")
    async with running_tracker(settings):
        await produce_events(settings, [registration_event(sid), first, retried, other])
        [letter] = await read_topic(settings, settings.events_dead_letter_topic, 1, 20)
        await eventually(lambda: consumed(settings, settings.tracker_group, settings.events_topic))
    assert letter.value == other.SerializeToString()
    reason = dict(letter.headers)["reason"].decode()
    assert reason == f"event_id {first.event_id} is already another event's: not applied"
    shipment = await TrackingStore(redis).shipment(sid)
    assert shipment is not None
    assert shipment.status is Status.PICKED_UP
    assert len(shipment.timeline) == 2  # the registration and the one tap
    assert dead_letters(settings, "conflict") == before + 1


async def test_a_busy_redis_delays_the_batch_and_loses_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    async with own_redis(settings, tmp_path) as (own, client):
        await client.config_set("busy-reply-threshold", 100)
        sids = [f"busy-{uuid.uuid4().hex[:8]}" for _ in range(5)]
        async with running_tracker(own):
            await produce_events(own, walk(sids[0]))
            await eventually(lambda: applied(TrackingStore(client), sids[:1], Status.PICKED_UP))
            other = Redis.from_url(own.redis_url)

            async def keep_busy() -> None:
                await other.eval(_BUSY_LUA, 0)

            busy = asyncio.create_task(keep_busy())
            await eventually(lambda: _busy(client))  # the script runs: BUSY to everyone else
            await produce_events(own, [e for sid in sids[1:] for e in walk(sid)])
            await busy
            await other.aclose()
            await eventually(lambda: applied(TrackingStore(client), sids, Status.PICKED_UP))
            await eventually(lambda: consumed(own, own.tracker_group, own.events_topic))
            letters = await read_all(own, own.events_dead_letter_topic)
        errors = await client.info("errorstats")
    assert letters == []
    looked = 1  # the one BUSY answer that told _busy the script was running
    assert errors.get("errorstat_BUSY", {}).get("count", 0) > looked, errors  # the tracker met it


async def test_a_redis_failing_over_read_only_delays_the_batch_and_loses_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    async with own_redis(settings, tmp_path) as (own, client):
        sids = [f"ro-{uuid.uuid4().hex[:8]}" for _ in range(5)]
        with processes.redis_server(tmp_path) as standby:
            host, port = standby.address.removeprefix("redis://").split("/")[0].split(":")
            ours = own.redis_url.removeprefix("redis://").split("/")[0].split(":")
            other = Redis.from_url(standby.address)
            async with running_tracker(own):
                await produce_events(own, walk(sids[0]))
                await eventually(lambda: applied(TrackingStore(client), sids[:1], Status.PICKED_UP))
                # a failover: the standby takes over with our data, ours becomes its replica
                await other.replicaof(*ours)
                await eventually(lambda: _synced(other))
                await other.replicaof("NO", "ONE")
                await client.replicaof(host, port)
                await eventually(lambda: _synced(client))
                await produce_events(own, [e for sid in sids[1:] for e in walk(sid)])
                await eventually(lambda: _met(client, "READONLY"))  # the tracker tried
                await client.replicaof("NO", "ONE")  # and ours is promoted back
                await eventually(lambda: applied(TrackingStore(client), sids, Status.PICKED_UP))
                await eventually(lambda: consumed(own, own.tracker_group, own.events_topic))
                letters = await read_all(own, own.events_dead_letter_topic)
            await other.aclose()
    assert letters == []


async def _busy(redis: Redis) -> bool:
    """Whether Redis is running the busy script: it answers BUSY to everyone else."""
    try:
        await redis.ping()
    except ResponseError as e:
        return str(e).startswith("BUSY")
    return False


async def _retried(logged: list[MutableMapping[str, Any]]) -> bool:
    return any(e["event"] == "batch failed, retrying" for e in logged)  # a batch met an error


async def _met(redis: Redis, error: str) -> bool:
    errors = await redis.info("errorstats")
    return bool(errors.get(f"errorstat_{error}", {}).get("count", 0))


async def _synced(replica: Redis) -> bool:
    info = await replica.info("replication")
    return info.get("master_link_status") == "up"


async def test_a_redis_that_goes_away_and_comes_back_delays_the_batch_and_loses_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    sids = [f"gone-{uuid.uuid4().hex[:8]}" for _ in range(5)]
    data = tmp_path / "redis-data"
    data.mkdir()
    port = processes.free_port()
    with processes.redis_server(tmp_path, port, data=data) as server:
        own = settings.with_(redis_url=server.address, redis_cluster=False)
        async with running_tracker(own):
            await produce_events(own, walk(sids[0]))
            client = Redis.from_url(own.redis_url)
            await eventually(lambda: applied(TrackingStore(client), sids[:1], Status.PICKED_UP))
            await client.shutdown(save=True)  # its data stays on disk (AOF)
            await client.aclose()
            with capture_logs() as logged:
                await produce_events(own, [e for sid in sids[1:] for e in walk(sid)])
                await eventually(lambda: _retried(logged))  # the tracker met a closed port
            with processes.redis_server(tmp_path, port, data=data):
                client = Redis.from_url(own.redis_url)
                await eventually(lambda: applied(TrackingStore(client), sids, Status.PICKED_UP))
                await eventually(lambda: consumed(own, own.tracker_group, own.events_topic))
                letters = await read_all(own, own.events_dead_letter_topic)
                await client.aclose()
    assert letters == []
