"""shipnotify.kafka against Apache Kafka: what a group committed, and a producer that stops
although the broker is gone."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiokafka import TopicPartition

from shipnotify import kafka
from shipnotify.config import Settings
from shipnotify.devstack import processes


async def test_committed_reads_what_the_group_committed(settings: Settings) -> None:
    await kafka.ensure_topics(settings)
    producer = kafka.producer(settings)
    await producer.start()
    try:
        for i in range(30):
            await producer.send_and_wait(settings.events_topic, b"x", key=b"%d" % i)
    finally:
        await producer.stop()
    group, topic = settings.tracker_group, settings.events_topic
    assert await kafka.committed(settings, group, topic) == {}  # never committed
    consumer = kafka.consumer(settings, topic, group)
    await consumer.start()
    try:
        read: dict[TopicPartition, int] = {}
        while sum(read.values()) < 30:
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                read[tp] = records[-1].offset + 1
        await consumer.commit(read)
    finally:
        await consumer.stop()
    assert await kafka.committed(settings, group, topic) == read
    assert await kafka.committed(settings, group, settings.notifications_topic) == {}


async def test_a_producer_stops_within_its_send_timeout_when_the_broker_is_gone(
    settings: Settings, tmp_path: Path
) -> None:
    """An idempotent producer never gives up a record on its own; its stop() still ends."""
    with processes.broker(tmp_path) as broker:
        own = settings.with_(kafka_bootstrap=broker.address, kafka_send_timeout_s=1.0)
        await kafka.ensure_topics(own)
        producer = kafka.producer(own)
        await producer.start()
        await producer.send_and_wait(own.events_topic, b"before")
        broker.stop()
        await producer.send(own.events_topic, b"after")  # never acknowledged
        async with asyncio.timeout(own.kafka_send_timeout_s + 5):
            await producer.stop()
