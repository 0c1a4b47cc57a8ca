"""Kafka clients built from Settings, and the topics the services share."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    CommitFailedError,
    CoordinatorLoadInProgressError,
    GroupCoordinatorNotAvailableError,
    IllegalStateError,
    KafkaError,
    TopicAlreadyExistsError,
)
from aiokafka.partitioner import murmur2

from shipnotify import backoff, logs
from shipnotify.config import Settings

log = logs.get(__name__)


def producer(settings: Settings) -> AIOKafkaProducer:
    # acks=all: a 202 or a commit means every in-sync replica has the record.
    return _Producer(
        stop_timeout_s=settings.kafka_send_timeout_s,
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        # No wait for more: a tap's event, its jobs and their outcomes each went 2 ms later
        # with one; under load, records gather anyway while a request is under way.
        linger_ms=0,
        # A tracker batch emits hundreds of jobs: 16 KB batches made send() wait for drains.
        max_batch_size=1024 * 1024,
        request_timeout_ms=int(settings.kafka_send_timeout_s * 1000),
    )


Record = tuple[bytes, bytes, Sequence[tuple[str, bytes]]]  # key, value, headers


class _Producer(AIOKafkaProducer):  # type: ignore[misc]  # aiokafka is untyped
    """A producer whose stop() ends. An idempotent producer never gives up a batch the
    broker has not taken (a retry cannot duplicate it), so with the broker away its stop()
    would wait for it forever. Whoever sent those records has been told no by then (ingest's
    503; a tracker or notifier batch is not committed, so it is read again): past the send
    timeout they fail, and stop() goes on."""

    def __init__(self, *, stop_timeout_s: float, **options: Any) -> None:
        super().__init__(**options)
        self._stop_timeout_s = stop_timeout_s

    async def stop(self) -> None:
        try:
            await asyncio.wait_for(super().stop(), self._stop_timeout_s)
        except TimeoutError:  # its sender's retries are cancelled with it
            log.warning("kafka producer stopped with records the broker did not take")
            await self.client.close()


class KeyedSender:
    """Sends keyed records a batch per partition, to the partition Kafka's default
    partitioner picks (murmur2 of the key, as every Kafka client does): per record, send()
    cost a tracker batch more than its Redis work, most of it in a future and a pure-Python
    murmur2 each."""

    _KEYS_KEPT = 100_000

    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self._producer = producer
        self._topic = topic
        self._partitions: dict[bytes, int] = {}  # key -> partition, for a partition count
        self._count = 0

    async def send(self, records: Sequence[Record]) -> list[asyncio.Future[Any]]:
        """Enqueues the records; the futures resolve when the broker has them all."""
        count = len(await self._producer.partitions_for(self._topic))
        if count != self._count or len(self._partitions) > self._KEYS_KEPT:
            self._partitions, self._count = {}, count
        by_partition: dict[int, list[Record]] = {}
        for record in records:
            key = record[0]
            p = self._partitions.get(key)
            if p is None:
                p = self._partitions[key] = (murmur2(key) & 0x7FFFFFFF) % count
            by_partition.setdefault(p, []).append(record)
        return [fut for p, part in by_partition.items() for fut in await self._send_part(p, part)]

    async def _send_part(self, partition: int, records: list[Record]) -> list[asyncio.Future[Any]]:
        futures = []
        batch = self._producer.create_batch()
        for key, value, headers in records:
            if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:  # full
                futures.append(await self._send(batch, partition))
                batch = self._producer.create_batch()
                # a batch takes its first record, however large
                batch.append(key=key, value=value, timestamp=None, headers=headers)
        if batch.record_count():
            futures.append(await self._send(batch, partition))
        return futures

    async def _send(self, batch: Any, partition: int) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = await self._producer.send_batch(
            batch, self._topic, partition=partition
        )
        return future


def consumer(settings: Settings, topic: str, group: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=max(settings.kafka_session_timeout_ms // 5, 100),
        max_poll_records=settings.tracker_batch_size,
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
    )


async def ensure_topics(settings: Settings) -> None:
    """Creates the project's topics when missing (when allowed by settings)."""
    if not settings.kafka_create_topics:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:  # closed however it ends: a start that failed or was cancelled leaves connections
        await admin.start()
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(name, num_partitions=settings.kafka_partitions, replication_factor=1)
            for name in (
                settings.events_topic,
                settings.events_dead_letter_topic,
                settings.notifications_topic,
                settings.notifications_dead_letter_topic,
                settings.feedback_topic,
                settings.feedback_dead_letter_topic,
                settings.accounts_topic,
                settings.accounts_dead_letter_topic,
            )
            if name not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):  # another instance was first
                await admin.create_topics(wanted)
            await _led(settings, admin, [t.name for t in wanted])
            log.info("topics created", topics=[t.name for t in wanted])
    finally:
        await admin.close()


async def _led(
    settings: Settings, admin: AIOKafkaAdminClient, topics: list[str], timeout_s: float = 30.0
) -> None:
    """Waits until every partition of new topics answers at its leader: a broker under load
    named a leader seconds before that leader served, and a consumer's first offset lookup
    there failed (NotLeaderForPartition) while its producer's records waited."""
    partitions: list[TopicPartition] = []
    async with asyncio.timeout(timeout_s):
        while not partitions:
            described = await admin.describe_topics(topics)
            if all(not d["error_code"] and d["partitions"] for d in described):
                partitions = [
                    TopicPartition(d["topic"], p["partition"])
                    for d in described
                    for p in d["partitions"]
                ]
            else:
                await asyncio.sleep(0.1)
    reader = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=int(timeout_s * 1000)
    )
    await reader.start()
    try:  # a ListOffsets at each leader, retried by the client until it answers
        await reader.end_offsets(partitions)  # KafkaTimeoutError after request_timeout_ms
    finally:
        await reader.stop()


async def consumed(settings: Settings, group: str, topic: str) -> bool:
    """Whether `group` has committed every record on `topic` so far: the tracker and the
    notifier commit a record only once what it causes is durable (the tracker's jobs sent,
    the notifier's notices in the due set)."""
    ends = await end_offsets(settings, topic)
    done = await committed(settings, group, topic)
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


async def reachable(settings: Settings, timeout_s: float = 2.0) -> bool:
    """A readiness probe: can we fetch cluster metadata right now?"""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=int(timeout_s * 1000)
    )
    try:
        await asyncio.wait_for(admin.start(), timeout_s)
        await asyncio.wait_for(admin.describe_cluster(), timeout_s)
    except (KafkaError, OSError, TimeoutError):
        return False
    finally:
        await admin.close()
    return True


async def committed(
    settings: Settings, group: str, topic: str, timeout_s: float = 10.0
) -> dict[TopicPartition, int]:
    """The group's committed offsets on the topic (empty for a group that never committed),
    as the group coordinator keeps them. On a new cluster the first question about any
    group waits for the offsets topic to be made, so a coordinator not there yet is asked
    again, for up to `timeout_s`."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    deadline = asyncio.get_running_loop().time() + timeout_s
    try:
        while True:
            try:
                return offsets_on(await admin.list_consumer_group_offsets(group), topic)
            except (GroupCoordinatorNotAvailableError, CoordinatorLoadInProgressError):
                if asyncio.get_running_loop().time() > deadline:
                    raise
            await asyncio.sleep(0.1)
    finally:
        await admin.close()


def offsets_on(offsets: dict[TopicPartition, Any], topic: str) -> dict[TopicPartition, int]:
    """The committed offsets of one topic, of an admin client's answer for a group."""
    return {
        tp: meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset >= 0
    }


async def commit_batch(consumer: AIOKafkaConsumer, records: list[ConsumerRecord]) -> None:
    """Commits past the records of a batch whose effects are durable."""
    offsets: dict[TopicPartition, int] = {}
    for r in records:
        tp = TopicPartition(r.topic, r.partition)
        offsets[tp] = max(offsets.get(tp, 0), r.offset + 1)
    # A rebalance during the batch may have taken partitions: their new owner redoes their
    # records, which changes nothing twice (event ids, notification ids).
    owned = consumer.assignment()
    if taken := [tp for tp in offsets if tp not in owned]:
        log.info("partitions taken by a rebalance, not committed", partitions=len(taken))
    offsets = {tp: offset for tp, offset in offsets.items() if tp in owned}
    if not offsets:
        return
    try:
        await consumer.commit(offsets)
    except (CommitFailedError, IllegalStateError) as e:
        log.warning("commit failed after rebalance", error=str(e))


async def wait_until_reachable(settings: Settings, stop: asyncio.Event) -> bool:
    """Waits for Kafka (and creates the topics) so a consumer service starts before its broker
    without a crash loop; False when asked to stop first."""
    if stop.is_set():
        return False
    async for attempt in backoff.attempts(first_s=0.2, cap_s=5.0, stop=stop):
        try:
            await ensure_topics(settings)
            return True
        except (KafkaError, OSError) as e:
            log.warning(
                "kafka not reachable, retrying", error=repr(e), retry_in_s=attempt.retry_in_s
            )
    return False
