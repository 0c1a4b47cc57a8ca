"""Where a topic's records end and how far a consumer group has come: what a test waits for
instead of a fixed time (a service commits a record only once what it causes is durable)."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shipnotify import kafka
from shipnotify.config import Settings


async def consumed(settings: Settings, group: str, topic: str) -> bool:
    """Whether `group` has committed every record on `topic` so far: the tracker and the
    notifier commit a record only once what it causes is durable (the tracker's jobs sent,
    the notifier's notices in the due set)."""
    ends = await end_offsets(settings, topic)
    done = await kafka.committed(settings, group, topic)
    return all(done.get(tp, 0) >= end for tp, end in ends.items())


async def end_offsets(settings: Settings, topic: str) -> dict[TopicPartition, int]:
    """Where the next record of each partition of a topic will go; nothing for a topic never
    made (the test broker makes none by itself)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described["error_code"]:  # unknown
        return {}
    partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    return ends


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
