"""`shipnotify rebuild`: restores the tracking state from the events topic after Redis lost
it. It replays each partition up to the tracker group's committed offset, through the same
script as the tracker, and emits no notification job; the tracker then goes on from there."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer
from redis.exceptions import RedisError

from shipnotify import kafka, logs
from shipnotify.config import Settings
from shipnotify.model.codec import MalformedEvent, decode_event
from shipnotify.store import Applied, TrackingStore, connect, intact, learn_slots
from shipnotify.store.tracking import fails_every_time

log = logs.get(__name__)


@dataclass
class Rebuilt:
    events: int = 0
    shipments: int = 0
    unreadable: int = 0  # unreadable or refused: already in the dead-letter topic


async def rebuild(settings: Settings, *, batch: int = 500) -> Rebuilt:
    upto = await kafka.committed(settings, settings.tracker_group, settings.events_topic)
    redis = connect(settings)
    await learn_slots(redis)
    store = TrackingStore(
        redis, retention_days=settings.retention_days, stale_days=settings.stale_days
    )
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, group_id=None
    )
    done, shipments = Rebuilt(), set[str]()
    await consumer.start()
    try:
        parts = [tp for tp in upto if upto[tp] > 0]
        if parts:
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
        while parts:
            fetched = await consumer.getmany(*parts, timeout_ms=500, max_records=batch)
            events = []
            for tp, records in fetched.items():
                for record in records:
                    if record.offset >= upto[tp]:
                        continue
                    try:
                        events.append(decode_event(record.value))
                    except MalformedEvent:
                        done.unreadable += 1
            # dedupe by event id: running it twice changes nothing
            try:
                applied: Sequence[Applied | RedisError] = await store.apply(events)
            except RedisError as e:
                if not fails_every_time(e):
                    raise
                applied = await store.apply_each(events)
            # what the tracker sent to the dead letters when it first met them
            refused = sum(isinstance(a, RedisError) or a.conflict for a in applied)
            done.unreadable += refused
            done.events += len(events) - refused
            shipments.update(e.shipment_id for e in events)
            parts = [tp for tp in parts if await consumer.position(tp) < upto[tp]]
        await intact.mark(redis)  # the consumers go on
    finally:
        await consumer.stop()
        await redis.aclose()
    done.shipments = len(shipments)
    log.info("rebuild done", **vars(done))
    return done
