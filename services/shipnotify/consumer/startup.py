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
        try:
            async with contextlib.AsyncExitStack() as consumers:
                started = []
                for g, t in subscriptions:
                    consumer = kafka.consumer(settings, t, g)
                    await consumer.start()
                    # commits nothing more; leaves the group
                    consumers.push_async_callback(consumer.stop)
                    started.append(consumer)
                yield Clients(redis, producer, started[0], tuple(started[1:]))
        finally:
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
