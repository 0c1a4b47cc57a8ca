"""The tracker's consume loop: batch in, one pipelined Redis round trip, jobs out, commit."""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from opentelemetry import trace
from redis.exceptions import RedisError

from shipnotify import kafka, logs, metrics, tracing
from shipnotify.config import Settings
from shipnotify.consumer import batches, dead_letters
from shipnotify.model import sent_again
from shipnotify.store import Applied, TrackingStore
from shipnotify.store.tracking import fails_every_time
from shipnotify.tracker.batch import DeadLetter, decoded, jobs_for, sorted_out
from shipnotify.tracker.notices import NoticePlanner, plan_notices, surveyed_account
from shipnotify.tracker.webhooks import WebhookPlanner
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
    webhooks: WebhookPlanner | None = None  # None: no business customers' webhooks

    def __post_init__(self) -> None:
        self.jobs = kafka.KeyedSender(self.producer, self.settings.notifications_topic)
        self.lag = metrics.LagGauge(self.consumer, self.settings.tracker_group)

    async def run(self, stop: asyncio.Event) -> None:
        """Consumes until `stop` is set; the batch under way is finished and committed first."""
        await batches.consume(
            self.consumer,
            self.handle,
            stop,
            batch_size=self.settings.tracker_batch_size,
            lag=self.lag,
        )

    async def handle(self, records: Sequence[ConsumerRecord]) -> batches.Acks:
        """Applies a batch; returns once its effects are in Redis, with what it sent for Kafka
        to acknowledge (its jobs and dead letters) before the batch is committed. An event
        that can never be applied goes to the dead letters with the reason."""
        await self.store.check_intact()  # never apply onto a Redis that came back empty
        batch = decoded(records)
        spans = tracing.RecordSpans(self.tracer, "apply event", batch.traces)
        applied, refused = sorted_out(batch.sources, await self._apply(batch.events))
        applied = await self._with_survey_settings(applied)
        dead = batch.dead + refused
        acks = [await self._dead_letter(d) for d in dead]
        jobs = jobs_for(applied, batch.traces, self.plan)
        if self.webhooks is not None:
            jobs += await self.webhooks.plan(applied, batch.traces)
        jobs += await self._sent_again(applied, batch.traces)
        acks += await self.jobs.send(jobs)
        spans.end()
        self._record(applied, spans, len(jobs), collections.Counter(d.why for d in dead))
        return acks

    async def _sent_again(
        self, applied: Sequence[tuple[Applied, int]], traces: Sequence[tracing.Headers]
    ) -> list[tracing.Record]:
        """The jobs of the notices the console asked to send again (NoticeSentAgain), planned
        from the shipment's contacts as they are now; a redelivered request plans the same
        job again (its id derives from the request's), which the notifier sends once."""
        jobs: list[tracing.Record] = []
        for done, i in applied:
            event = done.event
            if event.WhichOneof("body") != "notice_sent_again":
                continue
            again = event.notice_sent_again
            parties, entry, erased_ms, push = await self.store.sent_again_basis(
                event.shipment_id, again.status_event_id
            )
            job = sent_again.job(
                event, parties=parties, push=push, entry=entry, erased_ms=erased_ms
            )
            if job is None:
                log.warning(
                    "a notice asked to be sent again has nobody to go to",
                    shipment_id=event.shipment_id,
                    notification_id=again.notification_id,
                    event_id=event.event_id,
                )
                continue
            record = (event.shipment_id.encode(), job.SerializeToString())
            jobs += tracing.in_trace([record], traces[i])  # the console's request's trace
        return jobs

    async def _with_survey_settings(
        self, applied: list[tuple[Applied, int]]
    ) -> list[tuple[Applied, int]]:
        """The deliveries that plan surveys, with their owning account's survey settings."""
        owners = {i: a for (done, i) in applied if (a := surveyed_account(done))}
        if not owners:
            return applied
        found = await self.store.survey_settings(owners.values())
        return [(replace(done, survey=found.get(owners.get(i, ""))), i) for done, i in applied]

    async def _apply(self, events: Sequence[pb.ShipmentEvent]) -> Sequence[Applied | RedisError]:
        try:
            return await self.store.apply(events)
        except RedisError as e:
            if not fails_every_time(e):
                raise  # the server's state, not an event's: the whole batch again, later
            log.warning(
                "Redis refused an event of the batch; applying them one by one", error=str(e)
            )
            return await self.store.apply_each(events)

    def _record(
        self,
        applied: Sequence[tuple[Applied, int]],
        spans: tracing.RecordSpans,
        jobs: int,
        dead: collections.Counter[str],
    ) -> None:
        """A batch done: its log lines, metrics and counts."""
        outcomes: collections.Counter[str] = collections.Counter()
        # a line an event, with its trace id, only at debug: at info it cost the tracker as
        # much CPU as the rest of the event (the trace id is read from the record's headers
        # only for a line written)
        logged = log.is_enabled_for(logging.DEBUG)
        for a, i in applied:
            outcome = "duplicate" if a.duplicate else "advanced" if a.advanced else "kept"
            outcomes[outcome] += 1
            if logged:
                log.debug(
                    "event applied",
                    shipment_id=a.event.shipment_id,
                    event_id=a.event.event_id,
                    outcome=outcome,
                    version=a.version,
                    **spans.log_fields(i),
                )
        log.info(
            "batch applied",
            events=len(applied),
            advanced=outcomes["advanced"],
            kept=outcomes["kept"],
            duplicates=outcomes["duplicate"],
            dead_letters=dead.total(),
            jobs=jobs,
        )
        for outcome, n in outcomes.items():
            metrics.EVENTS_APPLIED.labels(outcome).inc(n)
        metrics.JOBS_PRODUCED.inc(jobs)
        for why, n in dead.items():
            metrics.DEAD_LETTERS.labels(self.settings.events_dead_letter_topic, why).inc(n)
        self.counts.batches += 1
        self.counts.applied += len(applied) - outcomes["duplicate"]
        self.counts.duplicates += outcomes["duplicate"]
        self.counts.dead_letters += dead.total()
        self.counts.jobs += jobs

    async def _dead_letter(self, letter: DeadLetter) -> asyncio.Future[Any]:
        return await dead_letters.send(
            self.producer, self.settings.events_dead_letter_topic, letter
        )
