"""`shipnotify tracker` as a real process: killed mid-stream (events, feedback), stopped by
SIGTERM, restarted."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

from redis.asyncio import Redis

from shipnotify import kafka
from shipnotify.config import Settings
from shipnotify.devstack.processes import free_port
from shipnotify.model import survey
from shipnotify.model.status import Shipment, Status
from shipnotify.store.feedback import FeedbackStore
from shipnotify.store.keys import feedback_applied_key, shipment_keys
from shipnotify.v1 import feedback_pb2 as fpb
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb
from tests.offsets import consumed, read_all

from .conftest import eventually
from .feedback_events import HOUR, answered, noted, now_ms, opened, produce_feedback, sent

STATUSES = list(Status)


def start_tracker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = settings.with_(tracker_batch_size=40, http_port=free_port()).child_env()
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "shipnotify", "tracker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def make_events(shipments: int, per_shipment: int, seed: int) -> list[pb.ShipmentEvent]:
    rng = random.Random(seed)
    events = []
    for n in range(per_shipment):
        for s in range(shipments):
            event = pb.ShipmentEvent(event_id=str(uuid.uuid4()), shipment_id=f"p{seed}-{s}")
            event.occurred_at.FromMilliseconds(1_000 + n * 10 + rng.randint(-15, 15))
            event.recorded_at.FromMilliseconds(5_000 + n)
            event.status_changed.status = rng.choice(STATUSES).proto
            events.append(event)
    return events


async def produce(settings: Settings, events: list[pb.ShipmentEvent]) -> None:
    producer = kafka.producer(settings)
    await producer.start()
    try:
        acks = [
            await producer.send(
                settings.events_topic, key=e.shipment_id.encode(), value=e.SerializeToString()
            )
            for e in events
        ]
        await asyncio.gather(*acks)
    finally:
        await producer.stop()


async def versions(redis: Redis, events: list[pb.ShipmentEvent]) -> Counter[str]:
    ids = sorted({e.shipment_id for e in events})
    pipe = redis.pipeline(transaction=False)
    for sid in ids:
        pipe.hget(shipment_keys(sid)[0], "v")
    return Counter({sid: int(v or 0) for sid, v in zip(ids, await pipe.execute(), strict=True)})


async def assert_applied_exactly_once(redis: Redis, events: list[pb.ShipmentEvent]) -> None:
    expected = Counter(e.shipment_id for e in events)
    assert await versions(redis, events) == expected  # the version counts first applications
    models: dict[str, Shipment] = {}
    for e in events:  # per-shipment order is the topic's order
        models.setdefault(e.shipment_id, Shipment()).apply(
            e.event_id, Status.from_proto(e.status_changed.status), e.occurred_at.ToMilliseconds()
        )
    for sid, model in models.items():
        state_key, timeline_key, *_ = shipment_keys(sid)
        assert await redis.hlen(timeline_key) == expected[sid]
        assert model.status is not None
        assert await redis.hget(state_key, "s") == model.status.value.encode()


async def test_killed_mid_stream_and_restarted_applies_every_event_once(
    settings: Settings, redis: Redis, tmp_path: Path
) -> None:
    await kafka.ensure_topics(settings)
    events = make_events(shipments=40, per_shipment=30, seed=1)
    log = tmp_path / "tracker.log"
    first = start_tracker(settings, log)
    try:
        await produce(settings, events[:600])

        async def some_applied() -> bool:
            return sum((await versions(redis, events)).values()) > 50

        await eventually(some_applied, 30)
        first.send_signal(signal.SIGKILL)  # no commit, no goodbye
        first.wait(5)
        await produce(settings, events[600:])
    finally:
        if first.poll() is None:
            first.kill()
    second = start_tracker(settings, log)
    try:

        async def all_applied() -> bool:
            return sum((await versions(redis, events)).values()) >= len(events)

        await eventually(all_applied, 60)
        await assert_applied_exactly_once(redis, events)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(20) == 0


async def test_sigterm_finishes_the_batch_commits_and_leaves(
    settings: Settings, redis: Redis, tmp_path: Path
) -> None:
    await kafka.ensure_topics(settings)
    events = make_events(shipments=10, per_shipment=20, seed=2)
    log = tmp_path / "tracker.log"
    tracker = start_tracker(settings, log)
    await produce(settings, events)

    async def all_applied() -> bool:
        return sum((await versions(redis, events)).values()) >= len(events)

    await eventually(all_applied, 60)
    tracker.send_signal(signal.SIGTERM)
    assert tracker.wait(20) == 0
    assert '"applied": 200' in log.read_text()

    # Everything was committed: a new tracker in the group sees only the new event.
    extra = make_events(shipments=1, per_shipment=1, seed=3)
    restarted = start_tracker(settings, log)
    await produce(settings, extra)

    async def extra_applied() -> bool:
        return sum((await versions(redis, extra)).values()) == 1

    await eventually(extra_applied, 60)
    restarted.send_signal(signal.SIGTERM)
    assert restarted.wait(20) == 0
    last = log.read_text().strip().splitlines()[-1]
    assert '"applied": 1,' in last, last
    assert '"duplicates": 0' in last, last
    await assert_applied_exactly_once(redis, events + extra)


def feedback_stream(shipments: int, notes: int) -> list[fpb.FeedbackEvent]:
    """Per shipment: a survey sent and answered unhappily, its case opened, then `notes`
    notes on it (each appends: a note applied twice would show)."""
    t = now_ms() - HOUR
    events: list[fpb.FeedbackEvent] = []
    for n in range(shipments):
        sid = f"fbp-{uuid.uuid4().hex[:6]}-{n}"
        sv = survey.survey_id(f"delivered-{sid}", 2)
        events += [
            sent(sid, sv, t),
            answered(sid, sv, t + 1000, 1),
            opened(sid, sv, t + 1000, due_ms=t + 8 * HOUR),
        ]
        events += [noted(sid, survey.case_id(sv), t + 2000 + i, f"note {i}") for i in range(notes)]
    return events


async def applied_feedback(redis: Redis, events: list[fpb.FeedbackEvent]) -> int:
    """Feedback event ids applied, of the events' shipments."""
    pipe = redis.pipeline(transaction=False)
    sids = sorted({e.shipment_id for e in events})
    for sid in sids:
        pipe.hlen(feedback_applied_key(sid))
    return sum(max(0, n - 1) for n in await pipe.execute())  # less the version field


async def test_killed_while_applying_feedback_loses_nothing_and_applies_each_once(
    settings: Settings, redis: Redis, tmp_path: Path
) -> None:
    await kafka.ensure_topics(settings)
    events = feedback_stream(shipments=30, notes=10)
    log = tmp_path / "tracker.log"
    first = start_tracker(settings, log)
    try:
        await produce_feedback(settings, events[:200])

        async def some_applied() -> bool:
            return await applied_feedback(redis, events) > 30

        await eventually(some_applied, 60)  # a cold start under load: imports, three group joins
        first.send_signal(signal.SIGKILL)  # no commit, no goodbye
        first.wait(5)
        await produce_feedback(settings, events[200:])
    finally:
        if first.poll() is None:
            first.kill()
    second = start_tracker(settings, log)
    try:

        async def all_applied() -> bool:
            return await applied_feedback(redis, events) >= len(events)

        await eventually(all_applied, 60)
        await eventually(
            lambda: consumed(settings, settings.feedback_group, settings.feedback_topic)
        )
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(20) == 0
    assert await applied_feedback(redis, events) == len(events)
    store = FeedbackStore(redis, settings.opt_out_secret.encode())
    for opening in (e for e in events if e.WhichOneof("body") == "case_opened"):
        case = await store.case(opening.case_opened.case_id)
        assert case is not None
        assert [n.text for n in case.notes] == [f"note {i}" for i in range(10)]
    # every case's apology was planned, whichever tracker applied it
    jobs = [
        npb.NotificationJob.FromString(r.value)
        for r in await read_all(settings, settings.notifications_topic)
    ]
    apologies = {j.notification_id for j in jobs if j.kind == npb.NOTICE_KIND_APOLOGY}
    assert apologies == {
        survey.notice_id(e.case_opened.case_id, "apology")
        for e in events
        if e.WhichOneof("body") == "case_opened"
    }
