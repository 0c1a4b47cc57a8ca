"""The notifier's worker through its ports (notifier/ports.py, outcomes.Sender), with fakes
of the book, the provider and the producer: what it does with each decision, without
Kafka or Redis. The real book's rules are tested against redis-server in
tests/integration/test_notifier.py."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import REGISTRY

from shipnotify.config import Settings
from shipnotify.model import survey as survey_model
from shipnotify.notifier.outcomes import Failed, Outcome, Sent, Unbuildable
from shipnotify.notifier.worker import Notifier
from shipnotify.store.notices import CANCELLED, RANKS, Claim, SmsGate, now_ms
from shipnotify.v1 import feedback_pb2 as fpb
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.v1 import survey_pb2 as spb

SMS, EMAIL, PUSH = pb.CHANNEL_SMS, pb.CHANNEL_EMAIL, pb.CHANNEL_PUSH
ADDRESSES = {SMS: "+40721234567", EMAIL: "ion@example.com", PUSH: "https://push.example/s/1"}
OPEN = SmsGate(opted_out=False, later_deferred=False, erased=False)
SETTINGS = Settings(quiet_hours="", retry_first_s=2.0, retry_max_age_s=3600)
FEEDBACK = SETTINGS.feedback_topic


class FakeBook:
    """The book's rules that the worker leans on, in memory: each claim is an attempt, a
    final notice is never claimed again, a notice's fields are those of its last state."""

    def __init__(self, gate: SmsGate | None = OPEN) -> None:
        self.gate = gate  # None: an SMS's gate must not be read
        self.states: dict[str, tuple[str, dict[str, Any]]] = {}
        self.attempts: dict[str, int] = {}
        self.due: dict[bytes, int] = {}
        self.opted_out: set[str] = set()
        self.deferred: list[tuple[str, str, int, str]] = []
        self.held_until: dict[str, int] = {}  # notices another sender holds
        self.erased: set[str] = set()  # notices planned before their contacts were erased
        self.erased_at = 0  # when the shipment's contacts were erased (ms), 0: never

    def state(self, nid: str) -> str:
        return self.states.get(nid, ("", {}))[0]

    async def state_of(self, shipment_id: str, nid: str) -> str | None:
        return self.state(nid) or None

    async def intact(self) -> bool:
        return True

    async def schedule(self, jobs: list[bytes], at_ms: int) -> None:
        self.due.update(dict.fromkeys(jobs, at_ms))

    async def take_due(self, lease_s: float, limit: int) -> list[bytes]:
        return [job for job, at in self.due.items() if at <= now_ms()][:limit]

    async def done(self, job: bytes) -> None:
        self.due.pop(job, None)

    async def sms_gate(
        self, shipment_id: str, phone: str, occurred_ms: int, planned_ms: int
    ) -> SmsGate:
        assert self.gate is not None, "the gate was read"
        return replace(
            self.gate,
            opted_out=self.gate.opted_out or phone in self.opted_out,
            erased=self.gate.erased or 0 < self.erased_at >= planned_ms,
        )

    async def claim(
        self, shipment_id: str, nid: str, meta: dict[str, Any], lease_s: float, *, planned_ms: int
    ) -> Claim:
        if nid in self.held_until:
            return Claim(-1, until_ms=self.held_until[nid], at_ms=now_ms())
        if RANKS.get(self.state(nid), 0) >= 2:
            return Claim(0)
        if nid in self.erased or 0 < self.erased_at >= planned_ms:
            return Claim(CANCELLED)
        fields = self.states.get(nid, ("", {}))[1]
        doubt, went = fields.get("q"), fields.get("w", "")
        self.attempts[nid] = self.attempts.get(nid, 0) + 1
        self.states[nid] = ("sending", {"w": went} if went else {})
        doubt = None if went else doubt
        return Claim(self.attempts[nid], in_doubt_since_ms=doubt, at_ms=now_ms(), went=went)

    async def update(self, shipment_id: str, nid: str, state: str, fields: dict[str, Any]) -> str:
        self.states[nid] = (state, dict(fields))
        return state

    async def went(self, shipment_id: str, nid: str, provider_id: str) -> None:
        self.states[nid] = ("sending", {"w": provider_id})

    async def finish(
        self, shipment_id: str, nid: str, state: str, fields: dict[str, Any], job: bytes
    ) -> None:
        self.states[nid] = (state, dict(fields))
        self.due.pop(job, None)

    async def defer(self, shipment_id: str, address: str, occurred_ms: int, nid: str) -> None:
        self.deferred.append((shipment_id, address, occurred_ms, nid))

    async def opt_out(self, phone: str) -> None:
        self.opted_out.add(phone)


class FakeSender:
    """A provider: answers with the given outcomes first, then takes every message. An
    unknown outcome with `took_it` is a provider that took the message and answered late."""

    def __init__(
        self,
        channel: pb.Channel,
        answers: Sequence[Outcome | Exception] = (),
        took_it: bool = False,
    ) -> None:
        self.channel = channel
        self.answers = list(answers)
        self.took_it = took_it
        self.messages: list[str] = []  # notification ids the provider has
        self.tries = 0
        self.asked: list[int] = []  # since when find() was asked

    async def send(self, job: npb.NotificationJob) -> Outcome:
        self.tries += 1
        if self.answers:
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            if self.took_it:
                self.messages.append(job.notification_id)
            return answer
        self.messages.append(job.notification_id)
        return Sent(f"id-{len(self.messages)}")

    async def find(self, job: npb.NotificationJob, since_ms: int) -> Outcome | None:
        self.asked.append(since_ms)
        if job.notification_id in self.messages:
            return Sent(f"id-{self.messages.index(job.notification_id) + 1}")
        return None

    async def close(self) -> None:
        return None


class FakeThrottle:
    """The throttle's rule in memory: a person is booked by the first survey that asks."""

    def __init__(self) -> None:
        self.booked: dict[str, str] = {}
        self.asked: list[tuple[str, str]] = []

    async def ask(self, address: str, survey_id: str) -> bool:
        self.asked.append((address, survey_id))
        return self.booked.setdefault(address, survey_id) == survey_id


class FakeProducer:
    """The records sent, and apart from them the notices' outcomes for the figures (on the
    feedback topic), each with its notice's state in the book when it was sent."""

    def __init__(self, book: FakeBook | None = None) -> None:
        self.records: list[tuple[str, bytes | None, dict[str, bytes]]] = []
        self.keys: list[bytes | None] = []
        self.settled: dict[str, tuple[fpb.NoticeSettled, str]] = {}
        self.book = book

    async def send(
        self,
        topic: str,
        value: bytes | None = None,
        *,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]],
    ) -> asyncio.Future[Any]:
        event = fpb.FeedbackEvent.FromString(value or b"") if topic == FEEDBACK else None
        if event is not None and event.WhichOneof("body") == "notice_settled":
            nid = event.notice_settled.notification_id
            then = self.book.state(nid) if self.book else ""
            self.settled[nid] = (event.notice_settled, then)
        else:
            self.records.append((topic, value, dict(headers)))
            self.keys.append(key)
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def notice(
    channel: pb.Channel = EMAIL, *, hours_ago: float = 0.0
) -> tuple[npb.NotificationJob, bytes]:
    job = npb.NotificationJob(
        notification_id=str(uuid.uuid4()),
        shipment_id="s-1",
        event_id=str(uuid.uuid4()),
        party=npb.PARTY_ROLE_RECIPIENT,
        channel=channel,
        address=ADDRESSES[channel],
        time_zone="UTC",
        status=pb.STATUS_OUT_FOR_DELIVERY,
    )
    planned = now_ms() - int(hours_ago * 3600 * 1000)
    job.occurred_at.FromMilliseconds(planned)
    job.planned_at.FromMilliseconds(planned)
    return job, job.SerializeToString()


def notifier(
    book: FakeBook,
    *senders: FakeSender,
    settings: Settings = SETTINGS,
    throttle: FakeThrottle | None = None,
) -> tuple[Notifier, FakeProducer]:
    producer = FakeProducer(book)
    worker = Notifier(
        settings,
        book=book,
        senders=senders,
        producer=producer,
        throttle=throttle or FakeThrottle(),
    )
    return worker, producer


async def test_a_notice_delivered_twice_is_sent_once() -> None:
    book, email = FakeBook(), FakeSender(EMAIL)
    worker, _ = notifier(book, email)
    job, raw = notice()
    book.due[raw] = 0
    await worker.handle(job, raw)
    await worker.handle(job, raw)
    assert email.messages == [job.notification_id]
    state, fields = book.states[job.notification_id]
    assert (state, fields["id"], fields["st"], fields["c"]) == (
        "sent",
        "id-1",
        "out_for_delivery",
        "email",
    )
    assert raw not in book.due
    assert (worker.counts.sent, book.attempts[job.notification_id]) == (1, 1)


class SlowBook(FakeBook):
    """Holds the first notice's end (its removal from the due set) until told: a second copy
    of its job can be taken in between, as from another batch."""

    def __init__(self) -> None:
        super().__init__()
        self.removed, self.go_on = asyncio.Event(), asyncio.Event()

    async def finish(self, *args: Any, **kwargs: Any) -> None:
        await super().finish(*args, **kwargs)
        if not self.removed.is_set():
            self.removed.set()
            await self.go_on.wait()


async def test_a_copy_taken_while_its_first_ends_is_found_sent_at_once() -> None:
    """The copy is due again (its batch put it back in the due set after the first left it);
    once the first's handling ends, it is handled again and found sent, not left due until
    its lease runs out."""
    book, email = SlowBook(), FakeSender(EMAIL)
    worker, _ = notifier(book, email)
    _, raw = notice()
    book.due[raw] = 0
    worker._start(raw)
    await asyncio.wait_for(book.removed.wait(), 5)
    book.due[raw] = now_ms() + 60_000  # the copy's batch: due again, leased for a minute
    worker._start(raw)
    book.go_on.set()
    for _ in range(100):
        if raw not in book.due:
            break
        await asyncio.sleep(0.01)
    assert raw not in book.due  # not waiting for the lease
    assert email.messages == [notice_id(raw)]  # and sent once


def notice_id(raw: bytes) -> str:
    return npb.NotificationJob.FromString(raw).notification_id


async def test_an_sms_to_a_number_that_opted_out_is_skipped() -> None:
    book, sms = FakeBook(), FakeSender(SMS)
    book.opted_out.add("+40721234567")
    worker, _ = notifier(book, sms)
    job, raw = notice(SMS)
    await worker.handle(job, raw)
    assert (book.state(job.notification_id), sms.tries, worker.counts.skipped) == (
        "opted_out",
        0,
        1,
    )


async def test_an_sms_in_quiet_hours_waits_for_the_morning() -> None:
    now = datetime.now(UTC)
    window = f"{now - timedelta(hours=1):%H:%M}-{now + timedelta(hours=1):%H:%M}"
    book, sms = FakeBook(), FakeSender(SMS)
    worker, _ = notifier(book, sms, settings=SETTINGS.with_(quiet_hours=window))
    job, raw = notice(SMS)
    await worker.handle(job, raw)
    state, fields = book.states[job.notification_id]
    assert state == "deferred"
    assert book.due[raw] == fields["until"]
    assert 0 < fields["until"] - now_ms() <= 3600 * 1000 + 60_000
    assert book.deferred == [
        ("s-1", job.address, job.occurred_at.ToMilliseconds(), job.notification_id)
    ]
    assert (sms.tries, worker.counts.deferred) == (0, 1)


async def test_a_transient_failure_is_retried_with_backoff_then_sent() -> None:
    book, email = FakeBook(), FakeSender(EMAIL, [Failed("421 try later", permanent=False)])
    worker, _ = notifier(book, email)
    job, raw = notice()
    before = now_ms()
    await worker.handle(job, raw)
    state, fields = book.states[job.notification_id]
    assert (state, fields["e"]) == ("retrying", "421 try later")
    assert before + 1000 <= book.due[raw] == fields["due"] <= now_ms() + 2000
    assert "q" not in fields
    await worker.handle(job, raw)  # the retry comes due
    assert book.state(job.notification_id) == "sent"
    assert (email.tries, len(email.messages), worker.counts.retried) == (2, 1, 1)


async def test_a_provider_that_took_the_message_but_answered_late_is_asked_not_sent_again() -> None:
    timed_out = Failed("timed out", permanent=False, unknown=True)
    book, sms = FakeBook(), FakeSender(SMS, [timed_out], took_it=True)
    worker, _ = notifier(book, sms)
    job, raw = notice(SMS)
    await worker.handle(job, raw)
    since = book.states[job.notification_id][1]["q"]
    await worker.handle(job, raw)
    assert sms.asked == [since]
    assert (sms.tries, sms.messages) == (1, [job.notification_id])
    assert book.states[job.notification_id][1]["id"] == "id-1"


class FailingFinish(FakeBook):
    """Redis goes away once, after the provider took a notice and before it is final: as a
    notifier killed there, the notice is left being sent and comes due again."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    async def finish(self, *args: Any, **kwargs: Any) -> None:
        if not self.failed:
            self.failed = True
            raise ConnectionError("Redis went away")
        await super().finish(*args, **kwargs)


@pytest.mark.parametrize("channel", [EMAIL, PUSH])
async def test_a_notice_its_provider_took_before_its_sender_stopped_is_not_sent_again(
    channel: pb.Channel,
) -> None:
    book, sender = FailingFinish(), FakeSender(channel)
    worker, producer = notifier(book, sender)
    job, raw = notice(channel)
    with pytest.raises(ConnectionError):
        await worker.handle(job, raw)
    assert book.states[job.notification_id] == ("sending", {"w": "id-1"})  # noted at once
    await worker.handle(job, raw)  # due again: no provider can be asked whether it has it
    assert (sender.tries, sender.messages) == (1, [job.notification_id])
    state, fields = book.states[job.notification_id]
    assert (state, fields["id"], book.attempts[job.notification_id]) == ("sent", "id-1", 2)
    assert "w" not in fields
    assert raw not in book.due
    assert producer.settled[job.notification_id][0].sent  # its outcome told, as sent


async def test_an_sms_is_not_noted_as_gone_before_it_is_final() -> None:
    """The SMS provider can be asked, as an in-doubt attempt does: one write less a notice."""
    book, sms = FailingFinish(), FakeSender(SMS)
    worker, _ = notifier(book, sms)
    job, raw = notice(SMS)
    with pytest.raises(ConnectionError):
        await worker.handle(job, raw)
    assert book.states[job.notification_id] == ("sending", {})


async def test_a_sender_that_raises_leaves_the_notice_in_doubt() -> None:
    book, email = FakeBook(), FakeSender(EMAIL, [ConnectionResetError("reset by peer")])
    worker, _ = notifier(book, email)
    job, raw = notice()
    await worker.handle(job, raw)
    state, fields = book.states[job.notification_id]
    assert (state, fields["e"]) == ("retrying", "unexpected ConnectionResetError: reset by peer")
    assert "q" in fields


async def test_a_failing_provider_is_paused_and_the_other_channel_goes_on() -> None:
    down = [Failed("503", permanent=False)] * 3
    book, sms, email = FakeBook(), FakeSender(SMS, down), FakeSender(EMAIL)
    worker, _ = notifier(book, sms, email)
    for _ in range(3):
        await worker.handle(*notice(SMS))
    job, raw = notice(SMS)
    await worker.handle(job, raw)
    state, fields = book.states[job.notification_id]
    assert (state, fields["e"]) == ("retrying", "provider paused after failures")
    assert sms.tries == 3  # the fourth never reached the provider
    assert job.notification_id not in book.attempts  # nor was it claimed
    mail, mail_raw = notice(EMAIL)
    await worker.handle(mail, mail_raw)
    assert email.messages == [mail.notification_id]


async def test_a_number_the_provider_says_opted_out_is_remembered_and_not_retried() -> None:
    refused = Failed("unsubscribed", permanent=True, code="21610", opted_out=True)
    book, sms = FakeBook(), FakeSender(SMS, [refused])
    worker, _ = notifier(book, sms)
    job, raw = notice(SMS)
    await worker.handle(job, raw)
    state, fields = book.states[job.notification_id]
    assert (state, fields["e"], fields["code"]) == ("opted_out", "unsubscribed", "21610")
    assert book.opted_out == {job.address}
    await worker.handle(*notice(SMS))  # the number's next notice is skipped
    assert (sms.tries, worker.counts.failed, worker.counts.skipped) == (1, 1, 1)


async def test_a_notice_that_cannot_be_built_is_dead_lettered_at_once() -> None:
    book = FakeBook()
    email = FakeSender(EMAIL, [Unbuildable("cannot be built: KeyError: 'name'")])
    worker, producer = notifier(book, email)
    job, raw = notice()
    await worker.handle(job, raw)
    assert producer.records == [
        (
            SETTINGS.notifications_dead_letter_topic,
            raw,
            {"reason": b"cannot be built: KeyError: 'name'"},
        )
    ]
    assert book.state(job.notification_id) == "dead"
    assert (worker.counts.failed, worker.counts.dead_letters) == (1, 1)


async def test_a_notice_past_the_age_limit_gives_up_with_its_attempts() -> None:
    book, email = FakeBook(), FakeSender(EMAIL, [Failed("421 try later", permanent=False)])
    worker, producer = notifier(book, email)
    job, raw = notice(hours_ago=2)  # the limit is 1 h
    await worker.handle(job, raw)
    assert [headers["reason"] for *_, headers in producer.records] == [
        b"gave up after 1 attempts: 421 try later"
    ]
    state, fields = book.states[job.notification_id]
    assert (state, fields["e"]) == ("dead", "421 try later")
    assert worker.counts.failed == 0  # the provider failed, not the notice


async def test_a_notice_another_sender_holds_is_looked_at_when_its_lease_ends() -> None:
    book, email = FakeBook(), FakeSender(EMAIL)
    worker, _ = notifier(book, email)
    job, raw = notice()
    book.held_until[job.notification_id] = lease_end = now_ms() + 30_000
    await worker.handle(job, raw)
    assert lease_end + 100 <= book.due[raw] <= lease_end + 1000
    assert (email.tries, book.state(job.notification_id)) == (0, "")


async def test_a_notice_planned_before_its_contacts_were_erased_is_cancelled() -> None:
    book, email = FakeBook(), FakeSender(EMAIL)
    worker, _ = notifier(book, email)
    job, raw = notice()
    book.erased.add(job.notification_id)
    await worker.handle(job, raw)
    assert (book.state(job.notification_id), email.tries, worker.counts.skipped) == (
        "cancelled",
        0,
        1,
    )


async def test_a_channel_without_a_sender_is_rejected_without_reading_the_gate() -> None:
    book, email = FakeBook(gate=None), FakeSender(EMAIL)
    worker, _ = notifier(book, email)
    job, raw = notice(SMS)
    await worker.handle(job, raw)
    state, fields = book.states[job.notification_id]
    assert (state, fields["e"]) == ("rejected", "no sender for this channel")


async def test_a_stopping_notifier_claims_nothing_more() -> None:
    book, email = FakeBook(), FakeSender(EMAIL)
    worker, _ = notifier(book, email)
    await worker.drain(timeout_s=1.0)
    job, raw = notice()
    book.due[raw] = 0
    await worker.handle(job, raw)
    assert (email.tries, book.attempts, book.due) == (0, {}, {raw: 0})  # still due, for others


# -- push -----------------------------------------------------------------------------------


class HeldSender(FakeSender):
    """A provider that takes requests and answers only once released."""

    def __init__(self, channel: pb.Channel) -> None:
        super().__init__(channel)
        self.started = 0
        self.release = asyncio.Event()

    async def send(self, job: npb.NotificationJob) -> Outcome:
        self.started += 1
        await self.release.wait()
        return await super().send(job)


async def test_a_push_is_sent_once_on_a_lane_of_its_own() -> None:
    book, push = FakeBook(), FakeSender(PUSH)
    worker, _ = notifier(book, FakeSender(SMS), FakeSender(EMAIL), push)
    job, raw = notice(PUSH)
    await worker.handle(job, raw)
    await worker.handle(job, raw)
    assert push.messages == [job.notification_id]
    state, fields = book.states[job.notification_id]
    assert (state, fields["c"], fields["p"]) == ("sent", "push", "recipient")
    assert worker.lanes[PUSH].rate.max_rate == SETTINGS.pushes_per_second != SETTINGS.sms_per_second


async def test_a_push_service_that_hangs_holds_up_neither_sms_nor_email() -> None:
    book, push, sms, email = FakeBook(), HeldSender(PUSH), FakeSender(SMS), FakeSender(EMAIL)
    worker, _ = notifier(book, sms, email, push, settings=SETTINGS.with_(sends_in_flight=1))
    pushes = [asyncio.create_task(worker.handle(*notice(PUSH))) for _ in range(3)]
    await asyncio.sleep(0.01)
    assert push.started == 1  # the push lane's one slot is taken, its other notices wait
    text, mail = notice(SMS), notice(EMAIL)
    async with asyncio.timeout(1.0):
        await worker.handle(*text)
        await worker.handle(*mail)
    assert (sms.messages, email.messages) == ([text[0].notification_id], [mail[0].notification_id])
    push.release.set()
    await asyncio.gather(*pushes)
    assert len(push.messages) == 3


async def test_a_push_subscription_gone_is_final_and_the_tracker_told_to_delete_it() -> None:
    gone = Failed("push 410 Gone", permanent=True, code="410", gone=True)
    book, push = FakeBook(), FakeSender(PUSH, [gone])
    worker, producer = notifier(book, push)
    job, raw = notice(PUSH)
    before = now_ms()
    await worker.handle(job, raw)
    state, fields = book.states[job.notification_id]
    assert (state, fields["e"], fields["code"]) == ("gone", "push 410 Gone", "410")
    [(topic, value, _)] = producer.records  # no dead letter: the event alone
    assert (topic, producer.keys) == (SETTINGS.events_topic, [b"s-1"])
    event = pb.ShipmentEvent.FromString(value or b"")
    assert event.WhichOneof("body") == "push_unsubscribed"
    assert (event.shipment_id, event.push_unsubscribed.endpoint) == ("s-1", job.address)
    assert uuid.UUID(event.event_id).version == 4
    assert event.source == pb.SOURCE_UNSPECIFIED
    assert before <= event.occurred_at.ToMilliseconds() <= now_ms()
    assert event.recorded_at == event.occurred_at
    assert raw not in book.due
    assert (worker.counts.gone, worker.counts.retried, worker.counts.dead_letters) == (1, 0, 0)
    await worker.handle(job, raw)  # delivered again: never sent again
    assert push.tries == 1


async def test_a_throttled_push_comes_back_no_sooner_than_its_push_service_said() -> None:
    throttled = Failed("push 429 Too Many Requests", permanent=False, code="429", retry_after_s=60)
    book, push = FakeBook(), FakeSender(PUSH, [throttled])
    worker, producer = notifier(book, push)
    job, raw = notice(PUSH)
    before = now_ms()
    await worker.handle(job, raw)
    state, fields = book.states[job.notification_id]
    assert (state, fields["e"]) == ("retrying", "push 429 Too Many Requests")
    assert before + 60_000 <= book.due[raw] == fields["due"] <= now_ms() + 60_500
    assert producer.records == []
    await worker.handle(job, raw)  # the retry comes due
    assert (book.state(job.notification_id), push.tries, worker.counts.retried) == ("sent", 2, 1)


async def test_a_push_its_push_service_refuses_is_dead_lettered_with_the_reason() -> None:
    refused = Failed("push 400 Bad Request", permanent=True, code="400", dead_letter=True)
    book, push = FakeBook(), FakeSender(PUSH, [refused])
    worker, producer = notifier(book, push)
    job, raw = notice(PUSH)
    await worker.handle(job, raw)
    assert producer.records == [
        (SETTINGS.notifications_dead_letter_topic, raw, {"reason": b"push 400 Bad Request"})
    ]
    state, fields = book.states[job.notification_id]
    assert (state, fields["e"]) == ("dead", "push 400 Bad Request")
    assert (worker.counts.failed, worker.counts.dead_letters, worker.counts.gone) == (1, 1, 0)
    assert raw not in book.due


async def test_a_push_in_quiet_hours_waits_for_the_morning_in_its_time_zone() -> None:
    there = datetime.now(ZoneInfo("Asia/Tokyo"))  # nine hours from UTC: night there, not here
    window = f"{there - timedelta(hours=1):%H:%M}-{there + timedelta(hours=1):%H:%M}"
    book, push = FakeBook(), FakeSender(PUSH)
    worker, _ = notifier(book, push, settings=SETTINGS.with_(quiet_hours=window))
    job, raw = notice(PUSH)
    job.time_zone = "Asia/Tokyo"
    await worker.handle(job, raw)
    state, fields = book.states[job.notification_id]
    assert state == "deferred"
    assert book.due[raw] == fields["until"]
    assert 0 < fields["until"] - now_ms() <= 3600 * 1000 + 60_000
    assert book.deferred == [
        ("s-1", job.address, job.occurred_at.ToMilliseconds(), job.notification_id)
    ]
    assert (push.tries, worker.counts.deferred) == (0, 1)
    here, here_raw = notice(PUSH)  # a reader in UTC: day there, it goes
    await worker.handle(here, here_raw)
    assert push.messages == [here.notification_id]


# -- the survey loop's notices ----------------------------------------------------------------

HOUR_MS = 3600 * 1000


def survey(
    channel: pb.Channel = SMS, *, not_before_ms: int | None = None, survey_id: str = ""
) -> tuple[npb.NotificationJob, bytes]:
    """A survey planned at a delivery two hours ago, due now unless `not_before_ms` says."""
    job, _ = notice(channel)
    job.kind = npb.NOTICE_KIND_SURVEY
    job.status = pb.STATUS_DELIVERED
    job.survey_id = survey_id or str(uuid.uuid4())
    job.scale = spb.SCALE_CSAT
    job.name, job.locale, job.time_zone = "Ion", "ro", "Europe/Chisinau"
    job.occurred_at.FromMilliseconds(now_ms() - 2 * HOUR_MS)
    due = now_ms() - 1000 if not_before_ms is None else not_before_ms
    job.not_before.FromMilliseconds(due)
    job.planned_at.FromMilliseconds(due)
    return job, job.SerializeToString()


def loop_notice(
    kind: npb.NoticeKind, channel: pb.Channel = SMS
) -> tuple[npb.NotificationJob, bytes]:
    job, _ = notice(channel)
    job.kind, job.status = kind, pb.STATUS_DELIVERED
    return job, job.SerializeToString()


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def survey_notices(state: str, kind: str = "survey") -> float:
    return sample("shipnotify_survey_notices_total", kind=kind, state=state)


async def test_a_survey_before_its_time_waits_and_takes_no_status_turn() -> None:
    book, sms = FakeBook(), FakeSender(SMS)
    worker, producer = notifier(book, sms)
    later = now_ms() + HOUR_MS
    job, raw = survey(not_before_ms=later)
    await worker.handle(job, raw)
    state, fields = book.states[job.notification_id]
    assert (state, fields["until"], book.due[raw]) == ("deferred", later, later)
    assert (fields["kind"], fields["c"]) == ("survey", "sms")  # the operators see what waits
    assert book.deferred == []  # the quiet hours' "latest status" is not its business
    assert (sms.tries, worker.counts.waited, worker.counts.deferred) == (0, 1, 0)
    assert producer.records == []


async def test_a_survey_in_its_contacts_quiet_hours_waits_for_their_morning_by_email_too() -> None:
    there = datetime.now(ZoneInfo("Europe/Chisinau"))
    window = f"{there - timedelta(hours=1):%H:%M}-{there + timedelta(hours=1):%H:%M}"
    book, email = FakeBook(gate=None), FakeSender(EMAIL)
    worker, _ = notifier(book, email, settings=SETTINGS.with_(quiet_hours=window))
    job, raw = survey(EMAIL)
    await worker.handle(job, raw)
    state, fields = book.states[job.notification_id]
    assert state == "deferred"
    assert 0 < fields["until"] - now_ms() <= HOUR_MS + 60_000
    assert (book.due[raw], book.deferred, email.tries) == (fields["until"], [], 0)
    status, status_raw = notice(EMAIL)  # a status email goes at once, as ever
    await worker.handle(status, status_raw)
    assert email.messages == [status.notification_id]


async def test_a_survey_sent_is_told_to_the_feedback_topic_before_it_is_final() -> None:
    book, sms = FakeBook(), FakeSender(SMS)
    worker, producer = notifier(book, sms)
    job, raw = survey()
    states_when_told: list[str] = []
    send = producer.send

    async def told(topic: str, value: bytes | None = None, **kwargs: Any) -> asyncio.Future[Any]:
        states_when_told.append(book.state(job.notification_id))
        return await send(topic, value, **kwargs)

    producer.send = told  # type: ignore[method-assign]
    before, sent_before = now_ms(), survey_notices("sent")
    taps_before = sample("shipnotify_tap_to_notice_seconds_count", channel="sms")
    await worker.handle(job, raw)
    await worker.handle(job, raw)  # delivered twice: sent once; told again, the same event
    # the survey sent and the notice's outcome, before it was final; then the survey again
    expected = ["sending", "sending", "sent"]
    assert (sms.messages, states_when_told) == ([job.notification_id], expected)
    (topic, value, _), (_, again, _) = producer.records
    told_again = fpb.FeedbackEvent.FromString(again or b"")
    assert told_again.event_id == fpb.FeedbackEvent.FromString(value or b"").event_id
    assert (topic, producer.keys) == (SETTINGS.feedback_topic, [b"s-1", b"s-1"])
    event = fpb.FeedbackEvent.FromString(value or b"")
    assert event.event_id == survey_model.feedback_event_id("sent", job.notification_id)
    assert event.shipment_id == "s-1"
    assert before <= event.occurred_at.ToMilliseconds() <= now_ms()
    assert event.recorded_at == event.occurred_at
    assert event.survey_sent == fpb.SurveySent(
        survey_id=job.survey_id,
        party=npb.PARTY_ROLE_RECIPIENT,
        channel=SMS,
        scale=spb.SCALE_CSAT,
        address=job.address,
        name="Ion",
        locale="ro",
        time_zone="Europe/Chisinau",
        notification_id=job.notification_id,
    )
    state, fields = book.states[job.notification_id]
    assert (state, fields["kind"], fields["st"]) == ("sent", "survey", "delivered")
    assert survey_notices("sent") == sent_before + 1
    # the lag from a tap to its notice is the status notices' alone
    assert sample("shipnotify_tap_to_notice_seconds_count", channel="sms") == taps_before
    await worker.handle(*notice(SMS))
    assert sample("shipnotify_tap_to_notice_seconds_count", channel="sms") == taps_before + 1


async def test_a_survey_a_receipt_made_final_before_its_sender_told_is_told_when_due() -> None:
    """Its sender died after the provider took it and before it told the feedback topic;
    the provider's receipt made it final since, so no attempt is in doubt."""
    book, sms = FakeBook(), FakeSender(SMS)
    worker, producer = notifier(book, sms)
    job, raw = survey()
    book.states[job.notification_id] = ("delivered", {"r": "delivered"})
    await worker.handle(job, raw)
    assert sms.messages == []  # never sent again
    [(topic, value, _)] = producer.records
    assert topic == SETTINGS.feedback_topic
    event = fpb.FeedbackEvent.FromString(value or b"")
    assert event.event_id == survey_model.feedback_event_id("sent", job.notification_id)
    assert raw not in book.due


async def test_a_survey_that_ended_unsent_is_never_told() -> None:
    for state in ("throttled", "opted_out", "cancelled", "rejected", "dead"):
        book, sms = FakeBook(), FakeSender(SMS)
        worker, producer = notifier(book, sms)
        job, raw = survey()
        book.states[job.notification_id] = (state, {})
        await worker.handle(job, raw)
        assert (sms.messages, producer.records) == ([], []), state


async def test_a_survey_to_a_person_asked_lately_is_throttled_and_never_sent() -> None:
    book, sms, throttle = FakeBook(), FakeSender(SMS), FakeThrottle()
    worker, producer = notifier(book, sms, throttle=throttle)
    throttle.booked[ADDRESSES[SMS]] = "another shipment's survey"
    job, raw = survey()
    throttled_before = survey_notices("throttled")
    await worker.handle(job, raw)
    assert book.state(job.notification_id) == "throttled"
    assert (sms.tries, producer.records, raw in book.due) == (0, [], False)
    assert (worker.counts.skipped, survey_notices("throttled")) == (1, throttled_before + 1)
    assert throttle.asked == [(job.address, job.survey_id)]
    # the survey that booked the person goes (again, were it a retry)
    mine, mine_raw = survey(survey_id="another shipment's survey")
    await worker.handle(mine, mine_raw)
    assert sms.messages == [mine.notification_id]


async def test_only_a_claimed_survey_asks_the_throttle() -> None:
    book, sms, throttle = FakeBook(), FakeSender(SMS), FakeThrottle()
    worker, _ = notifier(book, sms, throttle=throttle)
    early, early_raw = survey(not_before_ms=now_ms() + HOUR_MS)
    await worker.handle(early, early_raw)  # not yet due
    for kind in (npb.NOTICE_KIND_FOLLOW_UP, npb.NOTICE_KIND_APOLOGY):
        await worker.handle(*loop_notice(kind))
    assert (throttle.asked, len(sms.messages)) == ([], 2)


@pytest.mark.parametrize("channel", [SMS, EMAIL])
async def test_a_survey_is_cancelled_by_an_erasure_after_its_delivery_before_its_time(
    channel: pb.Channel,
) -> None:
    book = FakeBook(gate=OPEN if channel == SMS else None)
    sender = FakeSender(channel)
    worker, producer = notifier(book, sender)
    job, raw = survey(channel)  # due a second ago, planned at its delivery two hours ago
    book.erased_at = now_ms() - HOUR_MS
    await worker.handle(job, raw)
    assert (book.state(job.notification_id), sender.tries, producer.records) == (
        "cancelled",
        0,
        [],
    )


async def test_a_status_sms_waiting_for_the_morning_does_not_supersede_a_survey() -> None:
    book = FakeBook(gate=SmsGate(opted_out=False, later_deferred=True, erased=False))
    sms = FakeSender(SMS)
    worker, _ = notifier(book, sms)
    job, raw = survey()
    await worker.handle(job, raw)
    assert (book.state(job.notification_id), sms.messages) == ("sent", [job.notification_id])


@pytest.mark.parametrize("kind", [npb.NOTICE_KIND_FOLLOW_UP, npb.NOTICE_KIND_APOLOGY])
async def test_no_follow_up_or_apology_goes_to_a_number_that_opted_out(
    kind: npb.NoticeKind,
) -> None:
    book, sms = FakeBook(), FakeSender(SMS)
    book.opted_out.add(ADDRESSES[SMS])
    worker, _ = notifier(book, sms)
    job, raw = loop_notice(kind)
    name = "follow_up" if kind == npb.NOTICE_KIND_FOLLOW_UP else "apology"
    before = survey_notices("opted_out", name)
    await worker.handle(job, raw)
    assert (book.state(job.notification_id), sms.tries) == ("opted_out", 0)
    assert survey_notices("opted_out", name) == before + 1


async def test_a_case_alert_goes_at_once_and_its_record_says_what_it_is() -> None:
    now = datetime.now(UTC)
    window = f"{now - timedelta(hours=1):%H:%M}-{now + timedelta(hours=1):%H:%M}"
    book, email = FakeBook(gate=None), FakeSender(EMAIL)
    worker, producer = notifier(book, email, settings=SETTINGS.with_(quiet_hours=window))
    job, _ = loop_notice(npb.NOTICE_KIND_CASE_ALERT, EMAIL)
    job.party = npb.PARTY_ROLE_UNSPECIFIED  # answered on the tracking page
    before = survey_notices("sent", "case_alert")
    await worker.handle(job, job.SerializeToString())
    state, fields = book.states[job.notification_id]
    assert (state, fields["kind"], fields["p"], fields["c"]) == ("sent", "case_alert", "?", "email")
    assert (email.messages, producer.records) == ([job.notification_id], [])
    assert survey_notices("sent", "case_alert") == before + 1


async def test_a_status_notice_records_no_kind_and_counts_no_survey_notice() -> None:
    book, email = FakeBook(gate=None), FakeSender(EMAIL)
    worker, _ = notifier(book, email)
    before = [survey_notices("sent", kind) for kind in ("survey", "apology", "case_alert")]
    job, raw = notice()
    await worker.handle(job, raw)
    assert "kind" not in book.states[job.notification_id][1]
    assert [survey_notices("sent", k) for k in ("survey", "apology", "case_alert")] == before


async def test_a_notice_tells_its_outcome_to_the_feedback_topic_before_it_is_final() -> None:
    book = FakeBook()
    refused = Failed("unsubscribed", permanent=True, code="21610", opted_out=True)
    email, sms = FakeSender(EMAIL), FakeSender(SMS, [refused])
    worker, producer = notifier(book, email, sms)
    (mail, mail_raw), (text, text_raw), (skipped, skipped_raw) = (
        notice(EMAIL),
        notice(SMS),
        notice(SMS),
    )
    await worker.handle(mail, mail_raw)
    await worker.handle(text, text_raw)
    await worker.handle(skipped, skipped_raw)  # its number opted out: neither sent nor failed
    await worker.handle(mail, mail_raw)  # found sent: not told again
    went, _ = producer.settled[mail.notification_id]
    assert (went.channel, went.sent, went.planned_at) == (EMAIL, True, mail.planned_at)
    assert went.HasField("tap_to_notice_ms")
    assert 0 <= went.tap_to_notice_ms < 60_000  # a status notice: from its tap
    failed, _ = producer.settled[text.notification_id]
    assert (failed.channel, failed.sent, failed.HasField("tap_to_notice_ms")) == (SMS, False, False)
    assert set(producer.settled) == {mail.notification_id, text.notification_id}
    # told before the notice was final: a notifier dying between the two tells it again,
    # under the same id, which the figures count once
    assert {state for _, state in producer.settled.values()} == {"sending"}
