"""The tracker's second consume loop: the feedback topic (surveys sent, answers, call-back
cases; the notices' outcomes and SMS receipts, for the per-day figures) applied to Redis,
once per event id, and the jobs they call for (the follow-up question, the apology, the
supervisor's alert) produced before the batch is committed, as the events loop does
(consumer.py; both run on consumer/batches.py)."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from redis.exceptions import RedisError

from shipnotify import kafka, logs, metrics, tracing
from shipnotify.config import Settings
from shipnotify.consumer import batches, dead_letters
from shipnotify.model import survey
from shipnotify.model.codec import decode_feedback
from shipnotify.model.day_figures import NOTICE_EVENTS
from shipnotify.store import Shipment, TrackingStore
from shipnotify.store.feedback import FeedbackApplied, FeedbackStore
from shipnotify.store.tracking import fails_every_time
from shipnotify.tracker.batch import DeadLetter, decoded, split
from shipnotify.tracker.feedback_notices import feedback_jobs, unaddressed_alert
from shipnotify.tracker.webhooks import WebhookPlanner
from shipnotify.v1 import feedback_pb2 as fpb

log = logs.get(__name__)
# How long a short batch of feedback waits for more (outcomes, receipts and answers trickle
# in a few at a time, and each batch pays its round trips on the loop the events share).
FEEDBACK_GATHER_S = 0.05

# The events whose jobs need the shipment as Redis has it (its tracking id, its timeline).
_WITH_JOBS = frozenset({"survey_answered", "case_opened"})
_CASE_CHANGES = {
    "case_opened": "opened",
    "case_taken": "taken",
    "case_noted": "noted",
    "case_closed": "closed",
}


@dataclass
class FeedbackCounts:
    applied: int = 0
    duplicates: int = 0
    kept_out: int = 0
    dead_letters: int = 0
    jobs: int = 0
    batches: int = 0


@dataclass
class FeedbackTracker:
    settings: Settings
    store: FeedbackStore
    tracking: TrackingStore  # the shipments' tracking ids and timelines, for the jobs
    consumer: AIOKafkaConsumer
    producer: AIOKafkaProducer
    rules: survey.Rules
    counts: FeedbackCounts = field(default_factory=FeedbackCounts)
    webhooks: WebhookPlanner | None = None  # None: no business customers' webhooks

    def __post_init__(self) -> None:
        self.jobs = kafka.KeyedSender(self.producer, self.settings.notifications_topic)
        self.lag = metrics.LagGauge(self.consumer, self.settings.feedback_group)

    async def run(self, stop: asyncio.Event) -> None:
        """Consumes until `stop` is set; the batch under way is finished and committed first."""
        await batches.consume(
            self.consumer,
            self.handle,
            stop,
            batch_size=self.settings.tracker_batch_size,
            lag=self.lag,
            gather_s=FEEDBACK_GATHER_S,
        )

    async def handle(self, records: Sequence[ConsumerRecord]) -> batches.Acks:
        """Applies a batch; returns once its effects are in Redis, with its jobs and dead
        letters for Kafka to acknowledge before the batch is committed."""
        await self.tracking.check_intact()  # never apply onto a Redis that came back empty
        batch = decoded(records, decode_feedback)
        applied, refused = split(batch.sources, await self._apply(batch.events))
        dead = batch.dead + refused
        acks = [await self._dead_letter(d) for d in dead]
        shipments = await self._shipments([d for d, _ in applied])
        jobs = [
            job
            for d, i in applied
            for job in tracing.in_trace(self._plan(d, shipments), batch.traces[i])
        ]
        if self.webhooks is not None:
            jobs += await self.webhooks.plan_feedback(applied, batch.traces, self.tracking)
        acks += await self.jobs.send(jobs)
        self._record([d for d, _ in applied], len(jobs), collections.Counter(d.why for d in dead))
        return acks

    async def _apply(
        self, events: Sequence[fpb.FeedbackEvent]
    ) -> Sequence[FeedbackApplied | RedisError]:
        try:
            return await self.store.apply(events)
        except RedisError as e:
            if not fails_every_time(e):
                raise  # the server's state, not an event's: the whole batch again, later
            log.warning("Redis refused a feedback event; applying them one by one", error=str(e))
            return await self.store.apply_each(events)

    def _plan(
        self, done: FeedbackApplied, shipments: dict[str, Shipment]
    ) -> list[tuple[bytes, bytes]]:
        sid = done.event.shipment_id
        jobs = feedback_jobs(done, self.rules, shipments.get(sid))
        return [(sid.encode(), job.SerializeToString()) for job in jobs]

    async def _shipments(self, applied: Sequence[FeedbackApplied]) -> dict[str, Shipment]:
        """The shipments whose events may call for jobs, as Redis now has them."""
        wanted = {d.event.shipment_id for d in applied if d.event.WhichOneof("body") in _WITH_JOBS}
        found = await asyncio.gather(*(self.tracking.shipment(sid) for sid in wanted))
        return {s.shipment_id: s for s in found if s is not None}

    def _record(
        self, applied: Sequence[FeedbackApplied], jobs: int, dead: collections.Counter[str]
    ) -> None:
        """A batch done: a log line an event (ids only: no personal data), metrics, counts."""
        for done in applied:
            event = done.event
            kind = str(event.WhichOneof("body"))
            outcome = "duplicate" if done.duplicate else "kept_out" if done.kept_out else "applied"
            metrics.FEEDBACK_APPLIED.labels(kind, outcome).inc()
            if kind in NOTICE_EVENTS:
                continue  # a notice's line is the notifier's (or hooks'): one is enough
            ids: dict[str, Any] = {}
            if done.survey is not None:
                ids["survey_id"] = done.survey.survey_id
            if done.case is not None:
                ids["case_id"] = done.case.case_id
            log.info(
                "feedback applied",
                shipment_id=event.shipment_id,
                event_id=event.event_id,
                kind=kind,
                outcome=outcome,
                **ids,
            )
            change = _CASE_CHANGES.get(kind)
            if change and outcome == "applied" and (kind != "case_opened" or done.opened):
                metrics.CALLBACK_CASES.labels(change).inc()
            if unaddressed_alert(done, self.rules):
                metrics.SURVEY_NOTICES.labels("case_alert", "no_depot").inc()
                log.warning(
                    "call-back case opened with no supervisor to alert: set SHIPNOTIFY_DEPOTS",
                    shipment_id=event.shipment_id,
                    case_id=event.case_opened.case_id,
                    depot=event.case_opened.depot,
                )
            self.counts.applied += outcome == "applied"
            self.counts.duplicates += done.duplicate
            self.counts.kept_out += outcome == "kept_out"
        metrics.JOBS_PRODUCED.inc(jobs)
        for why, n in dead.items():
            metrics.DEAD_LETTERS.labels(self.settings.feedback_dead_letter_topic, why).inc(n)
        self.counts.batches += 1
        self.counts.dead_letters += dead.total()
        self.counts.jobs += jobs

    async def _dead_letter(self, letter: DeadLetter) -> asyncio.Future[Any]:
        return await dead_letters.send(
            self.producer, self.settings.feedback_dead_letter_topic, letter
        )
