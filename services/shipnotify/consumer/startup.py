"""How a consumer deployable starts and stops: wait for Kafka, open Redis and wait until it
holds our state, start the producer and the consumer; at the end stop them in that order's
reverse, so that nothing is committed after the consumer has left its group."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from redis.asyncio import Redis

from shipnotify import backoff, kafka, logs
from shipnotify.config import Settings
from shipnotify.store import connect, intact, learn_slots

log = logs.get(__name__)


@dataclass(frozen=True)
class Clients:
    redis: Redis
    producer: AIOKafkaProducer
    consumer: AIOKafkaConsumer


@contextlib.asynccontextmanager
async def started(
    settings: Settings, stop: asyncio.Event, *, group: str, topic: str
) -> AsyncIterator[Clients | None]:
    """The started clients of a consumer of `topic` in `group`; None when asked to stop
    before they could start (Kafka unreachable, or Redis waiting for a rebuild)."""
    if not await kafka.wait_until_reachable(settings, stop):
        yield None
        return
    redis = connect(settings)
    try:
        await learn_slots(redis)
        if not await wait_until_intact(redis, settings, group, topic, stop):
            yield None
            return
        producer = kafka.producer(settings)
        consumer = kafka.consumer(settings, topic, group)
        await producer.start()
        try:
            await consumer.start()
            try:
                yield Clients(redis, producer, consumer)
            finally:
                await consumer.stop()  # commits nothing more; leaves the group
        finally:
            await producer.stop()
    finally:
        await redis.aclose()


async def wait_until_intact(
    redis: Redis, settings: Settings, group: str, topic: str, stop: asyncio.Event
) -> bool:
    """At start: a marked store goes; an empty one is new if our group has never committed
    (then marked), else lost, and we wait for the rebuild. False when asked to stop first."""
    while not stop.is_set():
        if await intact.intact(redis):
            return True
        if not await kafka.committed(settings, group, topic):
            await intact.mark(redis)
            return True
        log.error(str(intact.StoreLost()), group=group)
        await backoff.pause(2.0, stop)  # looks again until the rebuild marks the store
    return False
