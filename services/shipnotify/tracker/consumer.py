"""The tracker's consume loop: batch in, one pipelined Redis round trip, jobs out, commit."""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import KafkaError
from opentelemetry import trace
from redis.exceptions import RedisError

from shipnotify import kafka, logs, metrics, tracing
from shipnotify.config import Settings
from shipnotify.model.codec import MalformedEvent, decode_event
from shipnotify.store import Applied, TrackingStore
from shipnotify.store.intact import StoreLost
from shipnotify.tracker.notices import NoticePlanner, plan_notices
from shipnotify.v1 import shipment_events_pb2 as pb

log = logs.get(__name__)


@dataclass
class Counts:
    applied: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    jobs: int = 0
    batches: int = 0


@dataclass
class Tracker:
    settings: Settings
    store: TrackingStore
    consumer: AIOKafkaConsumer
    producer: AIOKafkaProducer
    plan: NoticePlanner = plan_notices
    counts: Counts = field(default_factory=Counts)
    tracer: trace.Tracer = field(default_factory=tracing.tracer)

    def __post_init__(self) -> None:
        self.jobs = kafka.KeyedSender(self.producer, self.settings.notifications_topic)
        self.lag = metrics.LagGauge(self.consumer, self.settings.tracker_group)

    async def run(self, stop: asyncio.Event) -> None:
        """Consumes until `stop` is set; the batch under way is finished and committed first."""
        while not stop.is_set():
            batch = await self.consumer.getmany(
                timeout_ms=200, max_records=self.settings.tracker_batch_size
            )
            records = [r for recs in batch.values() for r in recs]
            if records and not await self._until_done(records, stop):
                return  # stopped while a dependency was down: uncommitted, redelivered later
            if records:
                await kafka.commit_batch(self.consumer, records)
            await self.lag.update()  # idle too: a rebalance changes what it owns

    async def _until_done(self, records: list[ConsumerRecord], stop: asyncio.Event) -> bool:
        delay = 0.1
        while True:
            try:
                await self.handle(records)
                return True
            except (RedisError, KafkaError, OSError, StoreLost) as e:
                log.warning("batch failed, retrying", error=repr(e), retry_in_s=delay)
            if stop.is_set():
                return False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def handle(self, records: Sequence[ConsumerRecord]) -> None:
        """Applies a batch; returns once its effects are in Redis and acknowledged by Kafka."""
        await self.store.check_intact()  # never apply onto a Redis that came back empty
        events: list[pb.ShipmentEvent] = []
        traces: list[tracing.Headers] = []  # each event's trace context (its tap's)
        acks = []  # send() enqueues and returns a future for the broker's acknowledgement
        for record in records:
            try:
                events.append(decode_event(record.value))
                traces.append(tracing.carried(record.headers))
            except MalformedEvent as e:
                acks.append(await self._dead_letter(record, str(e)))
        spans = tracing.RecordSpans(self.tracer, "apply event", traces)
        applied = await self.store.apply(events)
        jobs = [
            job
            for a, t in zip(applied, traces, strict=True)
            for job in tracing.in_trace(self.plan(a), t)
        ]
        acks += await self.jobs.send(jobs)
        await asyncio.gather(*acks)
        spans.end()
        self._record(applied, spans, len(jobs), len(records) - len(events))

    def _record(
        self, applied: Sequence[Applied], spans: tracing.RecordSpans, jobs: int, dead: int
    ) -> None:
        """A batch done: its log lines, metrics and counts."""
        outcomes: collections.Counter[str] = collections.Counter()
        logged = log.is_enabled_for(logging.INFO)  # a trace id is found only for a line written
        for i, a in enumerate(applied):
            outcome = "duplicate" if a.duplicate else "advanced" if a.advanced else "kept"
            outcomes[outcome] += 1
            # one line an event, so that an operator can follow a tap from ingest to its notices
            if logged:
                log.info(
                    "event applied",
                    shipment_id=a.event.shipment_id,
                    event_id=a.event.event_id,
                    outcome=outcome,
                    version=a.version,
                    **spans.log_fields(i),
                )
        for outcome, n in outcomes.items():
            metrics.EVENTS_APPLIED.labels(outcome).inc(n)
        metrics.JOBS_PRODUCED.inc(jobs)
        if dead:
            metrics.DEAD_LETTERS.labels(self.settings.events_dead_letter_topic).inc(dead)
        self.counts.batches += 1
        self.counts.applied += len(applied) - outcomes["duplicate"]
        self.counts.duplicates += outcomes["duplicate"]
        self.counts.dead_letters += dead
        self.counts.jobs += jobs

    def _dead_letter(self, record: ConsumerRecord, reason: str):  # type: ignore[no-untyped-def]
        log.warning("dead letter", reason=reason, partition=record.partition, offset=record.offset)
        headers = [
            ("reason", reason.encode()),
            ("source.topic", record.topic.encode()),
            ("source.partition", str(record.partition).encode()),
            ("source.offset", str(record.offset).encode()),
        ]
        return self.producer.send(
            self.settings.events_dead_letter_topic,
            key=record.key,
            value=record.value or b"",
            headers=headers,
        )
