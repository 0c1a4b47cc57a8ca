"""The consume loop of the tracker's consumers (shipment events, feedback, accounts): a batch
in, handled until its effects are durable (again, with backoff, while a dependency is down),
then committed. A crash between the two redoes the batch, which changes nothing twice (event
ids), so nothing is lost and nothing counts twice.

The next batch is handled while Kafka acknowledges what the last one sent (its jobs, its
dead letters) and takes its commit: those answers were half of a batch's time at a low
rate, spent waiting. The commits stay in order, each once its batch's records are
acknowledged; records Kafka refused make their batch handled again."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.errors import KafkaError
from redis.exceptions import RedisError

from shipnotify import backoff, kafka, logs, metrics
from shipnotify.store.intact import StoreLost

log = logs.get(__name__)

# What handling a batch sent, for Kafka to acknowledge before the batch is committed.
Acks = Sequence[asyncio.Future[Any]]
Handler = Callable[[Sequence[ConsumerRecord]], Awaitable[Acks]]
# What a later try may get past: a dependency down or busy, or a Redis awaiting its rebuild.
RETRIED = (RedisError, KafkaError, OSError, StoreLost)


async def consume(
    consumer: AIOKafkaConsumer,
    handle: Handler,
    stop: asyncio.Event,
    *,
    batch_size: int,
    lag: metrics.LagGauge,
    gather_s: float = 0.0,
) -> None:
    """Consumes until `stop` is set; the batches under way are finished and committed first.
    `gather_s`: a batch short of `batch_size` waits that long for more records first (fewer,
    larger batches: a batch's round trips are paid once, on the process's one loop)."""
    last: asyncio.Task[bool] | None = None  # the last batch's acknowledgements and commit
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200, max_records=batch_size)
            records = [r for recs in batch.values() for r in recs]
            if records and gather_s and len(records) < batch_size:
                await asyncio.sleep(gather_s)
                more = await consumer.getmany(timeout_ms=0, max_records=batch_size - len(records))
                records += [r for recs in more.values() for r in recs]
            acks = await until_done(handle, records, stop) if records else ()
            if acks is None:
                return  # stopped while a dependency was down: uncommitted, redelivered later
            if last is not None and not await last:
                return
            last = None
            if records:
                last = asyncio.create_task(_durable(consumer, handle, records, acks, stop))
            await lag.update()  # idle too: a rebalance changes what it owns
    finally:
        if last is not None:
            await last


async def _durable(
    consumer: AIOKafkaConsumer,
    handle: Handler,
    records: list[ConsumerRecord],
    acks: Acks,
    stop: asyncio.Event,
) -> bool:
    """Commits the batch once Kafka acknowledged what handling it sent; records it refused
    make the batch handled again (False if asked to stop first: uncommitted)."""
    try:
        await asyncio.gather(*acks)
    except RETRIED as e:
        log.warning("batch's records not acknowledged, handling it again", error=repr(e))

        async def acknowledged(records: Sequence[ConsumerRecord]) -> Acks:
            await asyncio.gather(*await handle(records))
            return ()

        if await until_done(acknowledged, records, stop) is None:
            return False
    await kafka.commit_batch(consumer, records)
    return True


async def until_done(
    handle: Handler, records: list[ConsumerRecord], stop: asyncio.Event
) -> Acks | None:
    """Handles the batch, again and again while a dependency is down: what Kafka has yet to
    acknowledge, or None if asked to stop first."""
    async for attempt in backoff.attempts(first_s=0.1, cap_s=5.0, stop=stop):
        try:
            return await handle(records)
        except RETRIED as e:
            log.warning("batch failed, retrying", error=repr(e), retry_in_s=attempt.retry_in_s)
    return None
