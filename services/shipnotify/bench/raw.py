"""The raw limits of the parts shipnotify stands on, measured with the same clients and
settings the services use, doing nothing with what they get."""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer
from redis.asyncio import Redis

from shipnotify import kafka
from shipnotify.config import Settings
from shipnotify.store.keys import BENCH_SCRATCH

Tick = Callable[[int], None]


async def redis_pipelined(redis: Redis, seconds: float, per_trip: int = 1000) -> float:
    """Commands a second, `per_trip` to a round trip, as the tracker sends them."""
    done, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < seconds:
        pipe = redis.pipeline(transaction=False)
        for i in range(per_trip):
            pipe.hset(BENCH_SCRATCH, str(i % 64), "x" * 64)
        await pipe.execute()
        done += per_trip
    await redis.delete(BENCH_SCRATCH)
    return done / (time.monotonic() - t0)


async def redis_round_trips(redis: Redis, seconds: float) -> float:
    """Round trips a second, one command each, one after the other."""
    done, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < seconds:
        await redis.ping()
        done += 1
    return done / (time.monotonic() - t0)


async def consume_rate(settings: Settings, topic: str, expected: int, tick: Tick) -> float:
    """Records a second through aiokafka, in batches as the tracker takes them, from the
    first record to the last (the group join left out)."""
    consumer = kafka.consumer(settings, topic, f"bench-raw-{time.monotonic_ns()}")
    await consumer.start()
    try:
        got, counted, t0 = 0, 0, 0.0
        while got < expected:
            batch = await consumer.getmany(timeout_ms=200, max_records=settings.tracker_batch_size)
            n = sum(len(records) for records in batch.values())
            if n and not got:
                t0 = time.monotonic()  # the clock starts with the first batch
            else:
                counted += n
            got += n
            tick(n)
        return counted / (time.monotonic() - t0)
    finally:
        await consumer.stop()


async def produce_consume_latency(
    settings: Settings, topic: str, rate: float, seconds: float, tick: Tick
) -> list[float]:
    """Milliseconds from send() to the consumer's getmany() returning the record, for records
    sent at `rate` a second, with the services' producer and consumer settings."""
    producer = kafka.producer(settings)
    consumer = kafka.consumer(settings, topic, f"bench-latency-{time.monotonic_ns()}")
    await producer.start()
    await consumer.start()
    latencies: list[float] = []
    total = int(rate * seconds)
    try:
        await _until_assigned(consumer)  # the topic is new: nothing is read before we send

        async def read() -> None:
            while len(latencies) < total:
                batch = await consumer.getmany(timeout_ms=200)
                now = time.monotonic()
                for records in batch.values():
                    latencies.extend((now - struct.unpack("d", r.value)[0]) * 1000 for r in records)
                    tick(len(records))

        reader = asyncio.create_task(read())
        t0 = time.monotonic()
        for i in range(total):
            await asyncio.sleep(max(0.0, t0 + i / rate - time.monotonic()))
            await producer.send(
                topic, key=str(i).encode(), value=struct.pack("d", time.monotonic())
            )
        await asyncio.wait_for(reader, 30)
        return latencies
    finally:
        await consumer.stop()
        await producer.stop()


async def _until_assigned(consumer: AIOKafkaConsumer) -> None:
    while not consumer.assignment():
        await consumer.getmany(timeout_ms=100)
