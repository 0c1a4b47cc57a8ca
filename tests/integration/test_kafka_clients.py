"""shipnotify.kafka against Apache Kafka: what a group committed, and a producer that stops
although the broker is gone."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiokafka import ConsumerRecord, TopicPartition

from shipnotify import kafka
from shipnotify.config import Settings
from shipnotify.devstack import processes

pytestmark = pytest.mark.redis_agnostic  # its outcome does not depend on Redis: run once


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


async def test_a_batch_whose_partitions_a_rebalance_took_commits_what_is_still_owned(
    settings: Settings,
) -> None:
    """The rebalance comes between reading a batch and committing it: the partitions now
    another member's are left to it, the others committed, and nothing raises."""
    await kafka.ensure_topics(settings)
    group, topic = settings.tracker_group, settings.events_topic
    producer = kafka.producer(settings)
    await producer.start()
    try:
        for i in range(60):
            await producer.send_and_wait(topic, b"x", key=b"%d" % i)
    finally:
        await producer.stop()
    first = kafka.consumer(settings, topic, group)
    second = kafka.consumer(settings, topic, group)
    await first.start()
    try:
        batch: list[ConsumerRecord] = []
        async with asyncio.timeout(30):
            while len(batch) < 60:
                batch += [r for rs in (await first.getmany(timeout_ms=200)).values() for r in rs]
        every = {TopicPartition(r.topic, r.partition) for r in batch}
        await second.start()
        async with asyncio.timeout(30):
            while not second.assignment() or first.assignment() & second.assignment():
                await asyncio.gather(first.getmany(timeout_ms=100), second.getmany(timeout_ms=100))
        kept = first.assignment()
        assert kept < every
        await kafka.commit_batch(first, batch)
        ends = {tp: max(r.offset for r in batch if r.partition == tp.partition) + 1 for tp in kept}
        assert await kafka.committed(settings, group, topic) == ends
    finally:
        await second.stop()
        await first.stop()
