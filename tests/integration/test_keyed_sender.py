"""KeyedSender: the tracker's jobs, sent a batch per partition."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from shipnotify import kafka
from shipnotify.config import Settings
from tests.offsets import read_all

pytestmark = pytest.mark.redis_agnostic  # its outcome does not depend on Redis: run once


async def test_records_go_where_the_default_partitioner_puts_them_in_order(
    settings: Settings,
) -> None:
    """Where send() would put them, so that a job the redrive command re-sends joins its
    shipment's partition; each key's records in order, with their headers; batches split
    when full."""
    await kafka.ensure_topics(settings)
    topic = settings.notifications_topic
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, max_batch_size=1024)
    await producer.start()
    try:
        keys = [f"shipment-{k}".encode() for k in range(20)]
        records = [
            (keys[i % 20], f"{i % 20}:{i}".encode() + b"." * 40, [("n", str(i).encode())])
            for i in range(400)
        ]
        acks = await kafka.KeyedSender(producer, topic).send(records)
        assert len(acks) > settings.kafka_partitions  # more batches than partitions: split
        await asyncio.gather(*acks)
        partitions = sorted(await producer.partitions_for(topic))
    finally:
        await producer.stop()
    got = await read_all(settings, topic)  # every record acknowledged above
    assert sorted(r.value for r in got) == sorted(v for _, v, _ in records)  # each once
    for r in got:
        assert list(r.headers) == [("n", r.value.split(b":")[1].rstrip(b"."))]
    for r in got:
        assert r.partition == DefaultPartitioner()(r.key, partitions, partitions)
    for key in keys:
        sent = [int(r.value.split(b":")[1].rstrip(b".")) for r in got if r.key == key]
        assert sent == sorted(sent)
        assert len(sent) == 20
