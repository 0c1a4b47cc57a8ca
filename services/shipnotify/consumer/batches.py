"""The consume loop of the tracker's consumers (shipment events, feedback): a batch in,
handled until its effects are durable (again, with backoff, while a dependency is down),
then committed. A crash between the two redoes the batch, which changes nothing twice (event
ids), so nothing is lost and nothing counts twice."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.errors import KafkaError
from redis.exceptions import RedisError

from shipnotify import backoff, kafka, logs, metrics
from shipnotify.store.intact import StoreLost

log = logs.get(__name__)

Handler = Callable[[Sequence[ConsumerRecord]], Awaitable[None]]
# What a later try may get past: a dependency down or busy, or a Redis awaiting its rebuild.
RETRIED = (RedisError, KafkaError, OSError, StoreLost)


async def consume(
    consumer: AIOKafkaConsumer,
    handle: Handler,
    stop: asyncio.Event,
    *,
    batch_size: int,
    lag: metrics.LagGauge,
) -> None:
    """Consumes until `stop` is set; the batch under way is finished and committed first."""
    while not stop.is_set():
        batch = await consumer.getmany(timeout_ms=200, max_records=batch_size)
        records = [r for recs in batch.values() for r in recs]
        if records and not await until_done(handle, records, stop):
            return  # stopped while a dependency was down: uncommitted, redelivered later
        if records:
            await kafka.commit_batch(consumer, records)
        await lag.update()  # idle too: a rebalance changes what it owns


async def until_done(handle: Handler, records: list[ConsumerRecord], stop: asyncio.Event) -> bool:
    """Handles the batch, again and again while a dependency is down; False if asked to
    stop first."""
    async for attempt in backoff.attempts(first_s=0.1, cap_s=5.0, stop=stop):
        try:
            await handle(records)
            return True
        except RETRIED as e:
            log.warning("batch failed, retrying", error=repr(e), retry_in_s=attempt.retry_in_s)
    return False
