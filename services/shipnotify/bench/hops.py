"""Where a tap's time to its SMS goes, hop by hop, from the times the producers stamped on
the records (Kafka's CreateTime, the same clock on one machine): ingest appends the event,
the tracker appends the notice's job, the notifier hands the SMS to the provider."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition

from shipnotify import kafka
from shipnotify.config import Settings
from shipnotify.model.codec import MalformedEvent, decode_event, decode_job
from shipnotify.v1 import shipment_events_pb2 as pb

Offsets = dict[TopicPartition, int]
TICK_S = 0.005  # how often the bench's own event loop is looked at


@dataclass
class Hops:
    """Milliseconds of each hop, one value a notice."""

    tracker: list[float] = field(default_factory=list)  # event appended -> its job appended
    notifier: list[float] = field(default_factory=list)  # job appended -> SMS at the provider
    answer: list[float] = field(default_factory=list)  # event appended -> ingest's 202 read


async def loop_lateness(late_ms: list[float]) -> None:
    """How late the bench's own event loop wakes (it runs the sandboxes whose clocks time
    each SMS's arrival, and the couriers' taps): appended to `late_ms` until cancelled."""
    loop = asyncio.get_running_loop()
    while True:
        t = loop.time()
        await asyncio.sleep(TICK_S)
        late_ms.append(max(0.0, (loop.time() - t - TICK_S) * 1000))


async def starts(settings: Settings) -> tuple[Offsets, Offsets]:
    """Where the events and notifications topics end now: a phase's records come after."""
    return (
        await kafka.end_offsets(settings, settings.events_topic),
        await kafka.end_offsets(settings, settings.notifications_topic),
    )


async def measured(
    settings: Settings,
    since: tuple[Offsets, Offsets],
    *,
    arrived_s: dict[str, float],
    accepted_s: dict[str, float],
) -> Hops:
    """The hops of each notice that arrived (notification id -> when, seconds since the
    epoch), whose tap was answered at `accepted_s`."""
    jobs = await _stamped(settings, since[1], _job)  # notification id -> (ms, event id)
    events = await _stamped(settings, since[0], _event)  # event id -> (ms, "")
    hops = Hops()
    for notice, at_s in arrived_s.items():
        job = jobs.get(notice)
        event = events.get(job[1]) if job else None
        if job is None or event is None:
            continue
        hops.tracker.append(float(job[0] - event[0]))
        hops.notifier.append(at_s * 1000 - job[0])
        hops.answer.append(accepted_s[notice] * 1000 - event[0])
    return hops


Key = Callable[[bytes], tuple[str, str] | None]


async def _stamped(settings: Settings, since: Offsets, key: Key) -> dict[str, tuple[int, str]]:
    """Each record's key -> (its CreateTime in ms, what `key` gives with it), read from
    `since` to where the topic ends now."""
    if not since:
        return {}
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    try:
        consumer.assign(list(since))
        ends = await consumer.end_offsets(list(since))
        for tp, offset in since.items():
            consumer.seek(tp, offset)
        out: dict[str, tuple[int, str]] = {}
        left = {tp for tp in since if ends[tp] > since[tp]}
        while left:
            batch = await consumer.getmany(*left, timeout_ms=1000)
            if not batch:
                break  # nothing more in a second: what the topic held is read
            for tp, records in batch.items():
                _keep(out, ((r.timestamp, r.value) for r in records), key)
                if records[-1].offset + 1 >= ends[tp]:
                    left.discard(tp)
        return out
    finally:
        await consumer.stop()


def _keep(
    out: dict[str, tuple[int, str]], records: Iterable[tuple[int, bytes | None]], key: Key
) -> None:
    for stamp, value in records:
        found = key(value or b"")
        if found is not None:
            out[found[0]] = (stamp, found[1])


def _job(value: bytes) -> tuple[str, str] | None:
    try:
        job = decode_job(value)
    except MalformedEvent:
        return None
    return (job.notification_id, job.event_id) if job.channel == pb.CHANNEL_SMS else None


def _event(value: bytes) -> tuple[str, str] | None:
    try:
        return (decode_event(value).event_id, "")
    except MalformedEvent:
        return None
