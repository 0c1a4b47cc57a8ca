"""Where a topic's records end and how far a consumer group has come: what a test waits for
instead of a fixed time (a service commits a record only once what it causes is durable)."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from shipnotify.config import Settings
from shipnotify.kafka import consumed, end_offsets

__all__ = ["consumed", "end_offsets", "read_all"]


async def read_all(settings: Settings, topic: str, timeout_s: float = 15.0) -> list[ConsumerRecord]:
    """Every record on a topic when called (to the end offsets it has then), from its start:
    after a producer's acks, or once its consumer group has consumed everything it was
    given, this is all it wrote."""
    ends = {tp: end for tp, end in (await end_offsets(settings, topic)).items() if end}
    records: list[ConsumerRecord] = []
    if not ends:
        return records
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        consumer.assign(list(ends))
        await consumer.seek_to_beginning(*ends)
        async with asyncio.timeout(timeout_s):
            for tp, end in ends.items():
                while await consumer.position(tp) < end:
                    batch = await consumer.getmany(tp, timeout_ms=200)
                    records.extend(r for r in batch.get(tp, ()) if r.offset < end)
    finally:
        await consumer.stop()
    return records
