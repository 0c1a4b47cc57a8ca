"""How a consumer deployable starts and stops: wait for Kafka, open Redis and wait until it
holds our state, start the producer and the consumers; at the end stop them in that order's
reverse, so that nothing is committed after a consumer has left its group."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from redis.asyncio import Redis

from shipnotify import backoff, kafka, logs
from shipnotify.config import Settings
from shipnotify.store import connect, intact, learn_slots

log = logs.get(__name__)

Subscription = tuple[str, str]  # (consumer group, topic)


@dataclass(frozen=True)
class Clients:
    redis: Redis
    producer: AIOKafkaProducer
    consumer: AIOKafkaConsumer
    others: tuple[AIOKafkaConsumer, ...] = ()  # of the `also` subscriptions, in their order


@contextlib.asynccontextmanager
async def started(
    settings: Settings,
    stop: asyncio.Event,
    *,
    group: str,
    topic: str,
    also: Sequence[Subscription] = (),
) -> AsyncIterator[Clients | None]:
    """The started clients of a consumer of `topic` in `group` (and one of each of `also`,
    sharing the producer and Redis); None when asked to stop before they could start (Kafka
    unreachable, or Redis waiting for a rebuild)."""
    if not await kafka.wait_until_reachable(settings, stop):
        yield None
        return
    subscriptions = [(group, topic), *also]
    redis = connect(settings)
    try:
        await learn_slots(redis)
        if not await wait_until_intact(redis, settings, subscriptions, stop):
            yield None
            return
        producer = kafka.producer(settings)
        await producer.start()
        consumers = [kafka.consumer(settings, t, g) for g, t in subscriptions]
        try:
            # at once: each start and stop waits on the broker
            for failed in await asyncio.gather(
                *(c.start() for c in consumers), return_exceptions=True
            ):
                if isinstance(failed, BaseException):
                    raise failed
            yield Clients(redis, producer, consumers[0], tuple(consumers[1:]))
        finally:
            # the consumers first: they commit nothing more and leave their groups
            await asyncio.gather(*(c.stop() for c in consumers))
            await producer.stop()
    finally:
        await redis.aclose()


async def wait_until_intact(
    redis: Redis, settings: Settings, subscriptions: Sequence[Subscription], stop: asyncio.Event
) -> bool:
    """At start: a marked store goes; an empty one is new if none of our groups has ever
    committed (then marked), else lost, and we wait for the rebuild. False when asked to
    stop first."""
    while not stop.is_set():
        if await intact.intact(redis):
            return True
        if not any([await kafka.committed(settings, g, t) for g, t in subscriptions]):
            await intact.mark(redis)
            return True
        log.error(str(intact.StoreLost()), groups=[g for g, _ in subscriptions])
        await backoff.pause(2.0, stop)  # looks again until the rebuild marks the store
    return False
