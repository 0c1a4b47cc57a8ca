"""`shipnotify rebuild`: restores the tracking state, surveys and call-back cases from Kafka
after Redis lost them. It replays each partition of the events topic up to the tracker
group's committed offset, through the same script as the tracker, then the feedback topic up
to the feedback group's, through the same store as the feedback consumer (so the per-day
shipment, satisfaction and notice figures come back too);
it emits no notification job. The tracker then goes on from there."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from redis.exceptions import RedisError

from shipnotify import kafka, logs
from shipnotify.config import Settings
from shipnotify.model.codec import MalformedEvent, decode_account, decode_event, decode_feedback
from shipnotify.store import connect, intact, learn_slots
from shipnotify.store.accounts import AccountStore
from shipnotify.store.tracking import fails_every_time
from shipnotify.tracker.service import check, feedback_store, tracking_store

log = logs.get(__name__)


E = TypeVar("E")


@dataclass
class Rebuilt:
    events: int = 0
    shipments: int = 0
    feedback: int = 0  # feedback events
    accounts: int = 0  # account events
    unreadable: int = 0  # unreadable or refused: already in the dead-letter topics


@dataclass
class Replayed:
    events: int = 0
    unreadable: int = 0
    shipments: set[str] | None = None


async def rebuild(settings: Settings, *, batch: int = 500) -> Rebuilt:
    check(settings)
    events_upto = await kafka.committed(settings, settings.tracker_group, settings.events_topic)
    feedback_upto = await kafka.committed(
        settings, settings.feedback_group, settings.feedback_topic
    )
    accounts_upto = await kafka.committed(
        settings, settings.accounts_group, settings.accounts_topic
    )
    redis = connect(settings)
    await learn_slots(redis)
    store = tracking_store(settings, redis)  # the per-day shipment figures too
    feedback = feedback_store(settings, redis)
    accounts = AccountStore(redis)

    async def apply_events(events: Sequence[Any]) -> int:
        # dedupe by event id: running it twice changes nothing
        try:
            applied: Sequence[Any] = await store.apply(events)
        except RedisError as e:
            if not fails_every_time(e):
                raise
            applied = await store.apply_each(events)
        # what the tracker sent to the dead letters when it first met them
        return sum(isinstance(a, RedisError) or a.conflict for a in applied)

    async def apply_feedback(events: Sequence[Any]) -> int:
        try:
            await feedback.apply(events)  # its jobs were emitted when it was first applied
            return 0
        except RedisError as e:
            if not fails_every_time(e):
                raise
            return sum(isinstance(a, RedisError) for a in await feedback.apply_each(events))

    async def apply_accounts(events: Sequence[Any]) -> int:
        try:
            await accounts.apply(events)  # a replay's jobs went out when it was first applied
            return 0
        except RedisError as e:
            if not fails_every_time(e):
                raise
            return sum(isinstance(a, RedisError) for a in await accounts.apply_each(events))

    done = Rebuilt()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    try:
        # the events first: a survey sent before an erasure is kept without its person
        tracked = await _replay(consumer, events_upto, decode_event, apply_events, batch)
        heard = await _replay(consumer, feedback_upto, decode_feedback, apply_feedback, batch)
        kept = await _replay(consumer, accounts_upto, decode_account, apply_accounts, batch)
        await intact.mark(redis)  # the consumers go on
    finally:
        await consumer.stop()
        await redis.aclose()
    done.events, done.feedback, done.accounts = tracked.events, heard.events, kept.events
    done.unreadable = tracked.unreadable + heard.unreadable + kept.unreadable
    done.shipments = len(tracked.shipments or ())
    log.info("rebuild done", **vars(done))
    return done


async def _replay(
    consumer: AIOKafkaConsumer,
    upto: dict[TopicPartition, int],
    decode: Callable[[bytes | None], E],
    apply: Callable[[Sequence[E]], Awaitable[int]],
    batch: int,
) -> Replayed:
    """Applies the records of each partition up to its offset in `upto`, in order; `apply`
    answers how many of a batch's events Redis refused (or found in conflict)."""
    done, shipments = Replayed(), set[str]()
    parts = [tp for tp in upto if upto[tp] > 0]
    if parts:
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
    while parts:
        fetched = await consumer.getmany(*parts, timeout_ms=500, max_records=batch)
        events: list[E] = []
        for tp, records in fetched.items():
            for record in records:
                if record.offset >= upto[tp]:
                    continue
                try:
                    events.append(decode(record.value))
                except MalformedEvent:
                    done.unreadable += 1
        refused = await apply(events) if events else 0
        done.unreadable += refused
        done.events += len(events) - refused
        shipments.update(getattr(e, "shipment_id", "") for e in events)
        parts = [tp for tp in parts if await consumer.position(tp) < upto[tp]]
    done.shipments = shipments
    return done
