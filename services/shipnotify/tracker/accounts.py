"""The tracker's third consume loop: the accounts topic (business customers' accounts, keys,
teams, survey settings, webhook endpoints) applied to Redis, once per event id, and the jobs
a replay calls for (its endpoint's messages again) produced before the batch is committed,
as the other loops do (consumer.py, feedback.py; all run on consumer/batches.py)."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from google.protobuf.message import DecodeError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from shipnotify import kafka, logs, metrics, tracing
from shipnotify.config import Settings
from shipnotify.consumer import batches, dead_letters
from shipnotify.model import accounts as model
from shipnotify.model.codec import decode_account
from shipnotify.store import TrackingStore
from shipnotify.store.accounts import AccountApplied, AccountStore, replayed_messages
from shipnotify.store.tracking import fails_every_time
from shipnotify.tracker.batch import DeadLetter, decoded, split
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import notifications_pb2 as npb

log = logs.get(__name__)


@dataclass
class AccountCounts:
    applied: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    jobs: int = 0
    batches: int = 0


@dataclass
class AccountTracker:
    settings: Settings
    store: AccountStore
    redis: Redis  # the endpoints' message stores, for replays
    tracking: TrackingStore  # only to find Redis intact
    consumer: AIOKafkaConsumer
    producer: AIOKafkaProducer
    counts: AccountCounts = field(default_factory=AccountCounts)

    def __post_init__(self) -> None:
        self.jobs = kafka.KeyedSender(self.producer, self.settings.notifications_topic)
        self.lag = metrics.LagGauge(self.consumer, self.settings.accounts_group)

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
        """Applies a batch; returns once its effects are in Redis, with its jobs and dead
        letters for Kafka to acknowledge before the batch is committed."""
        await self.tracking.check_intact()  # never apply onto a Redis that came back empty
        batch = decoded(records, decode_account)
        applied, refused = split(batch.sources, await self._apply(batch.events))
        dead = batch.dead + refused
        acks = [await self._dead_letter(d) for d in dead]
        jobs: list[tracing.Record] = []
        for done, i in applied:
            # a duplicate's jobs again: its first delivery may have died before they were
            # sent; the same notification ids, so the notifier sends each once
            if done.event.WhichOneof("body") == "webhooks_replayed":
                jobs += tracing.in_trace(await self._replay(done.event), batch.traces[i])
        acks += await self.jobs.send(jobs)
        self._record([d for d, _ in applied], len(jobs), collections.Counter(d.why for d in dead))
        return acks

    async def _apply(
        self, events: Sequence[apb.AccountEvent]
    ) -> Sequence[AccountApplied | RedisError]:
        try:
            return await self.store.apply(events)
        except RedisError as e:
            if not fails_every_time(e):
                raise  # the server's state, not an event's: the whole batch again, later
            log.warning("Redis refused an account event; applying them one by one", error=str(e))
            return await self.store.apply_each(events)

    async def _replay(self, event: apb.AccountEvent) -> list[tuple[bytes, bytes]]:
        """The jobs of the messages a replay sends again, each under its replay's id."""
        jobs = []
        for raw in await replayed_messages(self.redis, event.webhooks_replayed):
            try:
                job = model.replayed(npb.NotificationJob.FromString(raw), event.event_id)
            except (DecodeError, ValueError) as e:  # the notifier wrote it: never so
                log.error("a stored webhook message is unreadable", error=str(e))
                continue
            jobs.append((job.shipment_id.encode(), job.SerializeToString()))
        return jobs

    def _record(
        self, applied: Sequence[AccountApplied], jobs: int, dead: collections.Counter[str]
    ) -> None:
        """A batch done: a log line an event (ids only: no personal data), counts."""
        for done in applied:
            event = done.event
            log.info(
                "account event applied",
                account_id=event.account_id,
                event_id=event.event_id,
                kind=str(event.WhichOneof("body")),
                outcome="duplicate" if done.duplicate else "applied",
            )
            self.counts.applied += not done.duplicate
            self.counts.duplicates += done.duplicate
        metrics.JOBS_PRODUCED.inc(jobs)
        for why, n in dead.items():
            metrics.DEAD_LETTERS.labels(self.settings.accounts_dead_letter_topic, why).inc(n)
        self.counts.batches += 1
        self.counts.dead_letters += dead.total()
        self.counts.jobs += jobs

    async def _dead_letter(self, letter: DeadLetter) -> asyncio.Future[Any]:
        return await dead_letters.send(
            self.producer, self.settings.accounts_dead_letter_topic, letter
        )
