"""The notifier's work: take jobs from Kafka into the due set, send each notice once.

A consumed batch is committed as soon as its jobs are in Redis's due set (leased to
this process); sending happens beside it. A notice that cannot go now (provider down,
quiet hours) gets a later score in the due set and blocks nothing. A crashed notifier's
leases run out and any instance takes the notices up again; the claim on the notice
state keeps each notification id from being sent twice. What becomes of a notice is
decided in decision.py; this module reads what that needs and performs what it says.
The survey loop's notices go the same way; a survey, once claimed, also asks the throttle
whether its person may be asked, and once its provider took it, tells the feedback topic.
"""

from __future__ import annotations

import asyncio
import random
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, assert_never

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.errors import KafkaError
from aiolimiter import AsyncLimiter
from opentelemetry import trace

from shipnotify import backoff, kafka, logs, metrics, tracing
from shipnotify.config import Settings
from shipnotify.model import day_figures, feedback_events, survey
from shipnotify.model import webhooks as wh
from shipnotify.model.codec import MalformedEvent, decode_job
from shipnotify.model.sent_again import FAILED
from shipnotify.notifier import decision, webhook_sender
from shipnotify.notifier.breaker import Breaker
from shipnotify.notifier.endpoint_gate import EndpointGate
from shipnotify.notifier.outcomes import Failed, Outcome, Sender, Sent, Unbuildable, redact
from shipnotify.notifier.ports import Book, Failures, Producer, Throttle, Webhooks
from shipnotify.store import UNREACHABLE
from shipnotify.store.intact import StoreLost
from shipnotify.store.notices import now_ms
from shipnotify.store.webhooks import Try
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import feedback_pb2 as fpb
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb

log = logs.get(__name__)
# The final states of a notice its provider took (the notifier's, or a receipt's).
WENT = frozenset({"sent", "queued", "delivered", "undelivered", "failed"})
_CHANNEL_NAMES = day_figures.CHANNEL_NAMES
_DAY_MS = 86_400_000
# A final notice's tally, as the per-day figures count it: the rest (skipped, gone) neither.
_OUTCOMES = {"sent": day_figures.SENT, "failed": day_figures.FAILED}
Delivery = asyncio.Future[object]  # the broker's answer to a record sent
# A case alert answered on the tracking page names no party: "?"
_PARTY_NAMES = {npb.PARTY_ROLE_SENDER: "sender", npb.PARTY_ROLE_RECIPIENT: "recipient"}
# How long a webhook whose endpoint has its tries in flight waits for one of them to end
# before it goes back to the due set (well within a claim's lease): a quick endpoint's
# backlog waits in line, a slow endpoint's circles the due set, holding nothing meanwhile.
ENDPOINT_WAIT_S = 5.0


@dataclass
class Lane:
    """One channel: its provider, how many sends at once, how many a second."""

    sender: Sender
    in_flight: asyncio.Semaphore
    rate: AsyncLimiter
    breaker: Breaker


@dataclass
class Counts:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    deferred: int = 0
    waited: int = 0  # surveys not yet due: before their time, or in quiet hours
    skipped: int = 0
    gone: int = 0  # push subscriptions their push service forgot
    dead_letters: int = 0

    def add(self, tally: decision.Tally | None) -> None:
        if tally is not None:
            setattr(self, tally, getattr(self, tally) + 1)


class Notifier:
    def __init__(
        self,
        settings: Settings,
        *,
        book: Book,
        senders: Sequence[Sender],
        producer: Producer,
        throttle: Throttle,
        webhooks: Webhooks | None = None,
        tracer: trace.Tracer | None = None,
        failures: Failures | None = None,
    ) -> None:
        self.settings = settings
        self.book = book
        self.producer = producer
        self.throttle = throttle
        self.webhooks = webhooks
        self.failures = failures  # None: no console lists the failed notices
        self._capacity = 4 * settings.sends_in_flight  # notices handled at once
        # a quick endpoint's backlog waits in line here rather than circling the due set
        self.gate = EndpointGate(
            settings.webhooks_per_endpoint,
            waiting=self._capacity,
            waiting_in_all=8 * self._capacity,
        )
        self.tracer = tracer or tracing.tracer()
        rates = {
            pb.CHANNEL_SMS: settings.sms_per_second,
            pb.CHANNEL_EMAIL: settings.emails_per_second,
            pb.CHANNEL_PUSH: settings.pushes_per_second,
            pb.CHANNEL_WEBHOOK: settings.webhooks_per_second,
        }
        self.lanes = {
            s.channel: Lane(
                s,
                asyncio.Semaphore(settings.sends_in_flight),
                AsyncLimiter(rates.get(s.channel, 10.0), 1.0),
                Breaker(max_pause_s=min(30.0, settings.retry_max_delay_s)),
            )
            for s in senders
        }
        self.rules = decision.Rules.of(settings)
        self.counts = Counts()
        self._tasks: dict[bytes, asyncio.Task[None]] = {}
        # notices due again while their handling ran (a job delivered twice): handled again
        # once it ends, so the second copy is found sent at once, not when its lease runs out
        self._again: set[bytes] = set()
        # a claim's lease outlasts the longest try (a webhook's timeout may be the longer)
        self._lease_s = max(settings.send_timeout_s, settings.webhook_timeout_s) * 3
        self._room = asyncio.Event()  # set when a notice is done: the consumer may go on
        self._stopping = False

    # -- taking work --------------------------------------------------------------------

    async def consume(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        lag = metrics.LagGauge(consumer, self.settings.notifier_group)
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200, max_records=500)
            records = [r for recs in batch.values() for r in recs]
            if records and await self._until_taken(records, stop):
                await kafka.commit_batch(consumer, records)
            await lag.update()
            while self._full():
                # backpressure: Kafka keeps what we cannot start yet
                self._room.clear()
                await self._room.wait()

    async def take(self, records: Sequence[ConsumerRecord]) -> None:
        """Puts a batch's jobs in the due set, leased to us, and starts them; a job that can
        never be sent goes to the dead letters at once, with the reason."""
        jobs, sends, webhooks = [], [], []
        for record in records:
            try:
                job = decode_job(record.value)
            except MalformedEvent as e:
                sends.append(self._dead_letter(record.value or b"", str(e), "malformed"))
                continue
            jobs.append(bytes(record.value))
            if job.channel == pb.CHANNEL_WEBHOOK:
                webhooks.append((len(jobs) - 1, job))
        if webhooks and self.webhooks is not None:  # the endpoints' message stores, for replays
            kept = await self.webhooks.keep([(job, jobs[i]) for i, job in webhooks], now_ms())
            for (i, _), raw in zip(webhooks, kept, strict=True):
                jobs[i] = raw
        await self.book.schedule(jobs, now_ms() + int(self._lease_s * 1000))
        await asyncio.gather(*(await asyncio.gather(*sends)))
        for raw in dict.fromkeys(jobs):  # a job twice in a batch is one notice, handled once
            self._start(raw)

    async def due(self, stop: asyncio.Event, every_s: float = 0.2) -> None:
        """Takes up notices whose time has come: retries, mornings, expired leases."""
        while not stop.is_set():
            room = 0 if self._full() else min(200, self._capacity - self._under_way())
            try:
                if room > 0 and await self.book.intact():  # an emptied Redis has nothing due
                    for raw in await self.book.take_due(self._lease_s, limit=room):
                        self._start(raw)
            except UNREACHABLE as e:
                log.warning("due notices not readable now", error=repr(e))
            await backoff.pause(every_s, stop)

    async def _until_taken(self, records: Sequence[ConsumerRecord], stop: asyncio.Event) -> bool:
        """Takes a batch, holding it uncommitted while Redis is down or came back empty;
        False if asked to stop first."""
        async for _ in backoff.attempts(first_s=2.0, cap_s=2.0, stop=stop):
            try:
                if not await self.book.intact():
                    raise StoreLost
                await self.take(records)
                return True
            except (*UNREACHABLE, KafkaError, StoreLost) as e:
                log.error("jobs not taken, retrying", error=str(e))
        return False

    def _full(self) -> bool:
        """No room for more notices: as many under way as we handle at once, or the
        webhooks' lines full (more would only circle the due set)."""
        return self._under_way() > self._capacity or self.gate.crowded()

    def _under_way(self) -> int:
        """Notices being handled, less the webhooks waiting for their endpoint's turn
        (bounded by the gate, and briefly): a slow endpoint holds up no other notice."""
        return len(self._tasks) - self.gate.waiting

    def _start(self, raw: bytes) -> None:
        if raw in self._tasks:
            self._again.add(raw)
            return
        task = asyncio.create_task(self._handle_safely(raw))
        self._tasks[raw] = task
        task.add_done_callback(lambda _: self._finished(raw))

    def _finished(self, raw: bytes) -> None:
        self._tasks.pop(raw, None)
        self._room.set()
        if raw in self._again:
            self._again.discard(raw)
            if not self._stopping:  # else it stays due for whoever runs next
                self._start(raw)

    async def drain(self, timeout_s: float) -> None:
        """On shutdown: sends under way finish; notices not yet claimed stay due for others."""
        self._stopping = True
        if self._tasks:
            _, pending = await asyncio.wait(list(self._tasks.values()), timeout=timeout_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    # -- one notice ---------------------------------------------------------------------

    async def _handle_safely(self, raw: bytes) -> None:
        try:
            job = decode_job(raw)
        except MalformedEvent as e:  # due since before a stricter check: it never will go
            await self._dead_letter_due(raw, str(e))
            return
        # a span per attempt, in the tap's trace; its lines carry the tap's trace id
        with self.tracer.start_as_current_span(
            f"send {_CHANNEL_NAMES.get(job.channel, 'notice')}",
            tracing.job_context(job),
            kind=trace.SpanKind.CONSUMER,
            attributes={"shipnotify.notification_id": job.notification_id},
        ):
            try:
                await self.handle(job, raw)
            except asyncio.CancelledError:
                raise
            except (*UNREACHABLE, KafkaError) as e:
                # Redis or Kafka trouble: the lease runs out and the notice comes due again.
                log.warning("notice handling failed; it will come due again", error=redact(repr(e)))
            except Exception as e:
                await self._unexpected(job, raw, e)

    async def _unexpected(self, job: npb.NotificationJob, raw: bytes, error: Exception) -> None:
        """A failure no rule foresaw (a bug, a library's surprise): the notice is tried again
        later, like a transient failure, and given up at the retry age limit."""
        frame = traceback.extract_tb(error.__traceback__)[-1]
        reason = f"unexpected {type(error).__name__}: {redact(str(error))}"
        log.error(
            "notice handling failed unexpectedly",
            shipment_id=job.shipment_id,
            notification_id=job.notification_id,
            reason=reason,
            at=f"{Path(frame.filename).name}:{frame.lineno}",
        )
        channel = _CHANNEL_NAMES.get(job.channel, "?")
        metrics.SEND_FAILURES.labels(channel, "unexpected", "").inc()
        try:
            await self._perform(
                job, raw, decision.after_error(job, reason, now_ms=now_ms(), rules=self.rules)
            )
        except (*UNREACHABLE, KafkaError) as e:  # the lease brings it back
            log.warning("notice not rescheduled; it will come due again", error=redact(repr(e)))

    async def handle(self, job: npb.NotificationJob, raw: bytes) -> None:
        """Reads what deciding on the notice needs, and does what the decisions say."""
        sid, nid = job.shipment_id, job.notification_id
        bound = log.bind(
            shipment_id=sid,
            event_id=job.event_id,
            notification_id=nid,
            channel=_CHANNEL_NAMES.get(job.channel, "?"),
        )
        if job.kind != decision.STATUS:
            bound = bound.bind(kind=decision.KIND_NAMES.get(job.kind, str(job.kind)))
        lane = self.lanes.get(job.channel)
        if job.channel == pb.CHANNEL_WEBHOOK and lane is not None and self.webhooks is not None:
            await self._webhook(lane, job, raw, bound)
            return
        gate = None
        if lane is not None and job.channel in decision.QUIET_CHANNELS:
            occurred, planned = _ms(job.occurred_at), decision.planned_ms(job)
            gate = await self.book.sms_gate(sid, job.address, occurred, planned)
        taken_up = decision.before_claim(
            job,
            has_sender=lane is not None,
            gate=gate,
            paused_s=lane.breaker.remaining_s() if lane else 0.0,
            now_ms=now_ms(),
            rules=self.rules,
        )
        if not isinstance(taken_up, decision.Go):
            await self._perform(job, raw, taken_up)
        elif lane is not None:  # as it is whenever the decision is to go
            await self._claim_and_send(lane, job, raw, bound)

    async def _webhook(self, lane: Lane, job: npb.NotificationJob, raw: bytes, bound: Any) -> None:
        """A webhook: its endpoint as it is now decides whether it goes now, later (the
        endpoint is paused or full: back to the due set, holding nothing) or never."""
        assert self.webhooks is not None
        endpoint_id = job.webhook.endpoint_id
        endpoint = await self.webhooks.endpoint(job.webhook.account_id, endpoint_id)
        read_at = time.monotonic()
        usable = endpoint is not None and not endpoint.disabled
        # a full endpoint's message may wait a little for a try to end (endpoint_gate.py)
        entered = (
            usable
            and self.gate.paused_until_ms(endpoint_id, now_ms()) is None
            and await self.gate.enter_within(endpoint_id, ENDPOINT_WAIT_S)
        )
        now = now_ms()
        taken_up = decision.webhook_before_claim(
            endpoint,
            full=not entered,
            paused_until_ms=self.gate.paused_until_ms(endpoint_id, now),  # paused meanwhile?
            now_ms=now,
        )
        if not isinstance(taken_up, decision.Go):
            if entered:
                self.gate.leave(endpoint_id)
            await self._perform(job, raw, taken_up)
            return
        assert endpoint is not None  # as it is whenever the decision is to go
        # the sender's try uses this read if it begins soon enough (this task's context)
        webhook_sender.AS_READ.set((endpoint, read_at))
        left = False

        def leave() -> None:  # once the try is over: what follows it is not the endpoint's
            nonlocal left
            if not left:
                left = True
                self.gate.leave(endpoint_id)

        try:
            await self._claim_and_send(lane, job, raw, bound, tried=leave)
        finally:
            leave()

    async def _tried(
        self, job: npb.NotificationJob, attempt: int, outcome: Outcome, started_ms: int
    ) -> None:
        """A webhook's try: in its endpoint's delivery log and health; a Retry-After pauses
        the endpoint; an endpoint failing for webhook_disable_after_days is disabled, and its
        account's team told by email."""
        assert self.webhooks is not None
        endpoint_id, at = job.webhook.endpoint_id, now_ms()
        code = outcome.provider_id if isinstance(outcome, Sent) else outcome.code
        entry = Try(
            message_id=job.webhook.message_id,
            notification_id=job.notification_id,
            attempt=attempt,
            status=int(code) if code.isdigit() else 0,
            ms=at - started_ms,
            error="" if isinstance(outcome, Sent) else outcome.reason[:200],
            at_ms=at,
        )
        failing_since = await self.webhooks.tried(endpoint_id, entry)
        if isinstance(outcome, Failed) and outcome.retry_after_s is not None:
            self.gate.pause(endpoint_id, at + int(outcome.retry_after_s * 1000))
        days = self.settings.webhook_disable_after_days
        if failing_since is not None and at - failing_since >= days * _DAY_MS:
            reason = f"failing for {days:g} days in a row"
            cause = f"failing since {failing_since}"
            event_id = wh.disabled_event_id(endpoint_id, cause)
            await self._tell_team(job, event_id, reason, failing_since_ms=failing_since, at_ms=at)
            await self._endpoint_disabled(job, reason, cause=cause)

    async def _tell_team(
        self,
        job: npb.NotificationJob,
        event_id: str,
        reason: str,
        *,
        failing_since_ms: int,
        at_ms: int,
    ) -> None:
        """An email to each of the account's team members with an address, appended to the
        notifications topic before the EndpointDisabled event (`event_id`): their ids are
        made from it, so every try that repeats the event repeats the same notices, and the
        claim sends each once."""
        assert self.webhooks is not None
        account_id, endpoint_id = job.webhook.account_id, job.webhook.endpoint_id
        team = await self.webhooks.team(account_id)
        endpoint = await self.webhooks.endpoint(account_id, endpoint_id) or apb.Endpoint()
        alert = npb.EndpointAlert(
            account_id=account_id,
            account_name=team.account_name,
            endpoint_id=endpoint_id,
            url=endpoint.url,
            description=endpoint.description,
            reason=reason,
        )
        alert.failing_since.FromMilliseconds(failing_since_ms)
        alert.disabled_at.FromMilliseconds(at_ms)
        sent = [
            await self.producer.send(
                self.settings.notifications_topic,
                notice.SerializeToString(),
                key=endpoint_id.encode(),
                headers=tracing.headers(),
            )
            for notice in wh.team_notices(event_id, alert, team.members)
        ]
        await asyncio.gather(*sent)

    async def _endpoint_disabled(
        self, job: npb.NotificationJob, reason: str, *, cause: str
    ) -> None:
        """Tells the accounts topic (the tracker's accounts consumer keeps the endpoint
        disabled in Redis; its messages then end without a try). The event's id is its
        cause's: the tries that fail before the endpoint is disabled append the same one."""
        event = apb.AccountEvent(
            event_id=wh.disabled_event_id(job.webhook.endpoint_id, cause),
            account_id=job.webhook.account_id,
            endpoint_disabled=apb.EndpointDisabled(
                endpoint_id=job.webhook.endpoint_id, reason=reason
            ),
        )
        event.occurred_at.GetCurrentTime()
        event.recorded_at.CopyFrom(event.occurred_at)
        sent = await self.producer.send(
            self.settings.accounts_topic,
            event.SerializeToString(),
            key=job.webhook.account_id.encode(),
            headers=tracing.headers(),
        )
        await sent
        log.warning(
            "webhook endpoint disabled",
            account_id=job.webhook.account_id,
            endpoint_id=job.webhook.endpoint_id,
            reason=reason,
        )

    async def _claim_and_send(
        self,
        lane: Lane,
        job: npb.NotificationJob,
        raw: bytes,
        bound: Any,
        *,
        tried: Callable[[], None] | None = None,  # a webhook's: its try is over
    ) -> None:
        sid, nid = job.shipment_id, job.notification_id
        async with lane.in_flight, lane.rate:
            if self._stopping:
                return  # not claimed: it stays due, for whoever comes next
            # Claimed only now, so that the lease covers the send, not the wait for a slot.
            claim = await self.book.claim(
                sid, nid, self._meta(job), self._lease_s, planned_ms=decision.planned_ms(job)
            )
            claimed: decision.Send | decision.Went | decision.Effect = decision.after_claim(claim)
            if isinstance(claimed, decision.Send) and job.kind == npb.NOTICE_KIND_SURVEY:
                may_ask = await self.throttle.ask(job.address, job.survey_id)
                claimed = decision.asked(claimed, may_ask=may_ask)
            if isinstance(claimed, decision.Send):
                started = now_ms()
                outcome = await self._send(lane, job, claimed, bound)
                if isinstance(outcome, Sent) and job.channel in decision.NOTED_WHEN_GONE:
                    await self.book.went(sid, nid, outcome.provider_id)
        if isinstance(claimed, decision.Went):
            started, outcome = now_ms(), Sent(claimed.provider_id)
            bound.warning("notice went before its last sender stopped", attempt=claim.attempt)
        elif not isinstance(claimed, decision.Send):
            await self._perform(job, raw, claimed)
            return
        if job.channel == pb.CHANNEL_WEBHOOK:
            await self._tried(job, claim.attempt, outcome, started)
            if tried is not None:  # logged, and a Retry-After has paused the endpoint
                tried()
        else:  # one endpoint's failures say nothing of another's: no breaker for webhooks
            lane.breaker.saw(outcome)
        channel = _CHANNEL_NAMES[job.channel]
        if isinstance(outcome, Sent):
            lag_ms = now_ms() - _ms(job.planned_at)
            if job.kind == decision.STATUS:  # the tap's; a survey's time is of its own choosing
                metrics.TAP_TO_NOTICE.labels(channel).observe(lag_ms / 1000)
        else:
            metrics.SEND_FAILURES.labels(channel, outcome.kind, outcome.code).inc()
        answered = decision.after_send(job, outcome, claim=claim, now_ms=now_ms(), rules=self.rules)
        await self._perform(job, raw, answered)
        if isinstance(outcome, Sent):
            bound.info("notice sent", attempt=claim.attempt, lag_ms=lag_ms)
        elif outcome.gone and job.channel == pb.CHANNEL_WEBHOOK:
            bound.warning("webhook endpoint gone", reason=outcome.reason)
        elif outcome.gone:
            bound.info("push subscription gone", reason=outcome.reason)
        elif outcome.unbuildable:
            bound.error("notice cannot be built", reason=outcome.reason)
        elif outcome.dead_letter:
            bound.error("notice refused by the provider", reason=outcome.reason)
        elif outcome.permanent:
            bound.warning("notice rejected", reason=outcome.reason)
        else:
            bound.warning("notice failed, will retry", reason=outcome.reason, attempt=claim.attempt)

    async def _send(
        self, lane: Lane, job: npb.NotificationJob, send: decision.Send, bound: Any
    ) -> Outcome:
        try:
            if send.in_doubt_since_ms is None:
                return await lane.sender.send(job)
            found = await lane.sender.find(job, send.in_doubt_since_ms)
            bound.warning("notice in doubt after a crash", provider_has_it=isinstance(found, Sent))
            return found or await lane.sender.send(job)
        except Unbuildable as e:
            return Failed(str(e), permanent=True, code="unbuildable", unbuildable=True)
        except Exception as e:
            # Not a provider's answer: a library's surprise, perhaps after the request left.
            reason = f"unexpected {type(e).__name__}: {e}"
            return Failed(reason, permanent=False, code="unexpected", unknown=True)

    async def _perform(
        self,
        job: npb.NotificationJob,
        raw: bytes,
        step: decision.Effect,
    ) -> None:
        """Does what a decision says of the notice."""
        sid, nid = job.shipment_id, job.notification_id
        match step:
            case decision.Final():
                self.counts.add(step.tally)
                if step.opt_out:
                    await self.book.opt_out(job.address)
                if step.unsubscribe:
                    await self._unsubscribe(job)
                if step.disable_endpoint:
                    cause = f"gone at {job.notification_id}"  # a replay's 410 is news
                    await self._endpoint_disabled(job, step.reason or "gone", cause=cause)
                told = [await self._survey_sent(job)] if step.survey_sent else []
                told += await self._tell_endpoints(job, step.state, step.reason or "")
                outcome = _OUTCOMES.get(step.tally or "")
                await self._final(job, raw, step.state, outcome, told, **_fields(step))
            case decision.GiveUp():
                self.counts.add(step.tally)
                await self._give_up(job, raw, step.reason, attempts=step.attempts, why=step.why)
            case decision.Retry():
                due = random.randint(step.earliest_ms, step.latest_ms)
                doubt = {} if step.in_doubt_since_ms is None else {"q": step.in_doubt_since_ms}
                await self._retry_at(job, raw, due, step.reason, doubt)
            case decision.Defer():
                self.counts.deferred += 1
                await self.book.defer(sid, job.address, _ms(job.occurred_at), nid)
                await self.book.update(sid, nid, "deferred", {"until": step.until_ms})
                await self.book.schedule([raw], step.until_ms)
            case decision.Wait():
                self.counts.waited += 1
                fields = self._meta(job) | {"until": step.until_ms}
                await self.book.update(sid, nid, "deferred", fields)
                await self.book.schedule([raw], step.until_ms)
            case decision.LookAgain():
                await self.book.schedule([raw], random.randint(step.earliest_ms, step.latest_ms))
            case decision.AlreadySent():
                if job.kind == npb.NOTICE_KIND_SURVEY:
                    await self._survey_sent_if_it_went(job)
                await self.book.done(raw)
            case _:
                assert_never(step)

    async def _retry_at(
        self,
        job: npb.NotificationJob,
        raw: bytes,
        due_ms: int,
        reason: str,
        extra: dict[str, int] | None = None,
    ) -> None:
        self.counts.retried += 1
        metrics.RETRIES.labels(_CHANNEL_NAMES.get(job.channel, "?")).inc()
        fields = {"e": reason, "due": due_ms, **(extra or {})}
        await self.book.update(job.shipment_id, job.notification_id, "retrying", fields)
        await self.book.schedule([raw], due_ms)

    async def _final(
        self,
        job: npb.NotificationJob,
        raw: bytes,
        state: str,
        outcome: str | None,
        told: list[Delivery],
        **fields: str | int,
    ) -> None:
        """The notice's final state; first, if it went or failed, its outcome on the feedback
        topic, for its day's figures: were the notifier to die between the two, the notice
        comes due again and tells the same outcome, which the figures count once (by id).
        What else was `told` before it is final is waited for with the outcome: one wait for
        the broker, not one each, while an email that went is not yet known to have gone."""
        if outcome is not None:
            told.append(await self._settled(job, outcome))
        await asyncio.gather(*told)
        metrics.NOTICES.labels(_CHANNEL_NAMES.get(job.channel, "?"), state).inc()
        if job.kind != decision.STATUS:
            kind = decision.KIND_NAMES.get(job.kind, "?")
            metrics.SURVEY_NOTICES.labels(kind, state).inc()
        await self._list_failure(job, state)
        await self.book.finish(
            job.shipment_id, job.notification_id, state, self._meta(job) | fields, raw
        )

    async def _settled(self, job: npb.NotificationJob, outcome: str) -> Delivery:
        went, planned = outcome == day_figures.SENT, _ms(job.planned_at)
        status = went and job.kind == decision.STATUS and job.channel != pb.CHANNEL_WEBHOOK
        event = feedback_events.settled(
            job.shipment_id,
            job.notification_id,
            channel=job.channel,
            sent=went,
            planned_ms=planned,
            # from the tap, as TAP_TO_NOTICE; a survey's time is of its own choosing
            tap_to_notice_ms=max(0, now_ms() - planned) if status else None,
            # the account it names; else the figures count it for the shipment's owner
            account=job.webhook.account_id or job.endpoint_alert.account_id,
            now=datetime.now(UTC),
        )
        return await self._tell_feedback(event)

    async def _list_failure(self, job: npb.NotificationJob, state: str) -> None:
        """A notice that failed goes on the console's failed notices' list; one sent again
        takes its failed one off once it went, or takes its place when it failed too (one of
        them is sent again next, not both). Before the notice is final: were this lost with
        a crash, the notice comes due again and does it again."""
        if self.failures is None:
            return
        if state in FAILED:
            await self.failures.add(job.shipment_id, job.notification_id)
        if job.sent_again_of and (state in FAILED or state == "sent"):
            await self.failures.remove(job.shipment_id, job.sent_again_of)

    async def _unsubscribe(self, job: npb.NotificationJob) -> None:
        """Tells the tracker, through the events topic, to delete a push subscription its
        push service forgot: the subscriptions are the tracker's, and a rebuild from the
        topics forgets it too. Durable before the notice is final; were it lost with a
        crash, the notice comes due again and its push service says so again."""
        event = pb.ShipmentEvent(
            event_id=str(uuid.uuid4()),
            shipment_id=job.shipment_id,
            push_unsubscribed=pb.PushUnsubscribed(endpoint=job.address),
        )
        event.occurred_at.GetCurrentTime()
        event.recorded_at.CopyFrom(event.occurred_at)
        sent = await self.producer.send(
            self.settings.events_topic,
            event.SerializeToString(),
            key=job.shipment_id.encode(),
            headers=tracing.headers(),
        )
        await sent

    async def _tell_endpoints(
        self, job: npb.NotificationJob, state: str, reason: str
    ) -> list[Delivery]:
        """notice.sent / notice.failed to the endpoints of the shipment's account, appended
        to the notifications topic before the notice is final (its id is the notice's, so
        a notice that comes due again makes the same message)."""
        event_type = wh.notice_event_type(job.channel, state)
        if event_type is None or self.webhooks is None:
            return []
        listeners = await self.webhooks.listeners(job.shipment_id)
        if listeners is None:
            return []
        message = wh.make(
            event_type,
            job.notification_id,
            account_id=listeners.account_id,
            shipment_id=job.shipment_id,
            tracking_id=job.tracking_id,
            version=listeners.version,
            at=datetime.now(UTC),
            data=wh.notice_data(job, version=listeners.version, state=state, reason=reason),
        )
        jobs = wh.fan_out(message, listeners.endpoints)
        return [
            await self.producer.send(
                self.settings.notifications_topic,
                j.SerializeToString(),
                key=job.shipment_id.encode(),
                headers=tracing.headers(),
            )
            for j in jobs
        ]

    async def _survey_sent_if_it_went(self, job: npb.NotificationJob) -> None:
        """A survey found done: its sender may have died after the provider took it and
        before it told the feedback topic, and the provider's delivery receipt made it
        final since (so no attempt is in doubt). Told now, if it went: the same event, which
        the consumer applies once."""
        state = await self.book.state_of(job.shipment_id, job.notification_id)
        if state in WENT:
            await (await self._survey_sent(job))

    async def _survey_sent(self, job: npb.NotificationJob) -> Delivery:
        """Tells the feedback topic that a survey went (its consumer keeps the survey, to
        read its answers, and books its person). Durable before the notice is final; were
        it lost with a crash, the notice comes due again in doubt and the same event (its id
        is the notice's) is appended again, which the consumer applies once."""
        event = fpb.FeedbackEvent(
            event_id=survey.feedback_event_id("sent", job.notification_id),
            shipment_id=job.shipment_id,
            survey_sent=fpb.SurveySent(
                survey_id=job.survey_id,
                party=job.party,
                channel=job.channel,
                scale=job.scale,
                address=job.address,
                name=job.name,
                locale=job.locale,
                time_zone=job.time_zone,
                notification_id=job.notification_id,
            ),
        )
        event.occurred_at.GetCurrentTime()
        event.recorded_at.CopyFrom(event.occurred_at)
        return await self._tell_feedback(event)

    async def _tell_feedback(self, event: fpb.FeedbackEvent) -> Delivery:
        """Appends to the feedback topic, keyed by shipment: the broker's answer to wait for."""
        sent: Delivery = await self.producer.send(
            self.settings.feedback_topic,
            event.SerializeToString(),
            key=event.shipment_id.encode(),
            headers=tracing.headers(),
        )
        return sent

    def _meta(self, job: npb.NotificationJob) -> dict[str, str | int]:
        meta: dict[str, str | int] = {
            "c": _CHANNEL_NAMES.get(job.channel, "?"),
            "p": _PARTY_NAMES.get(job.party, "?"),
            "st": pb.Status.Name(job.status).removeprefix("STATUS_").lower(),
            "ev": job.event_id,
        }
        if job.kind != decision.STATUS:  # a status notice's kind goes without saying
            meta["kind"] = decision.KIND_NAMES.get(job.kind, "?")
        return meta

    async def _give_up(
        self,
        job: npb.NotificationJob,
        raw: bytes,
        reason: str,
        *,
        attempts: int | None,
        why: str = "gave_up",
    ) -> None:
        """A dead letter with the reason (`shipnotify redrive` sends it again), then the
        notice's final state: the record is durable before the notice stops being due."""
        said = f"gave up after {attempts} attempts: {reason}" if attempts else reason
        told = [await self._dead_letter(raw, said, why)]
        told += await self._tell_endpoints(job, "dead", reason)
        await self._final(job, raw, "dead", day_figures.FAILED, told, e=reason)

    async def _dead_letter_due(self, raw: bytes, reason: str) -> None:
        await (await self._dead_letter(raw, reason, "malformed"))
        await self.book.done(raw)

    async def _dead_letter(self, raw: bytes, reason: str, why: str) -> Delivery:
        self.counts.dead_letters += 1
        metrics.DEAD_LETTERS.labels(self.settings.notifications_dead_letter_topic, why).inc()
        future: Delivery = await self.producer.send(
            self.settings.notifications_dead_letter_topic,
            value=raw,
            headers=[("reason", reason.encode())],
        )
        return future


def _fields(final: decision.Final) -> dict[str, str | int]:
    """A final notice's reason, provider's code and id, as the book records them."""
    named = {"e": final.reason, "code": final.code, "id": final.provider_id}
    return {key: value for key, value in named.items() if value is not None}


def _ms(ts: object) -> int:
    return int(ts.ToMilliseconds())  # type: ignore[attr-defined]
