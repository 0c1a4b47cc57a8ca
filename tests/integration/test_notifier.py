"""The notifier against the real broker and redis-server, with our own fake providers
behind the Sender port: once-only sending, retries, opt-outs, quiet hours, isolation."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from shipnotify import kafka
from shipnotify.config import Settings
from shipnotify.model.notices import plan
from shipnotify.model.status import Status
from shipnotify.notifier import service
from shipnotify.notifier.outcomes import Failed, Outcome, Sender, Sent
from shipnotify.notifier.redrive import redrive
from shipnotify.store import TrackingStore
from shipnotify.store.keys import due_key, notices_key
from shipnotify.store.notices import NoticeBook, now_ms
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb

from .conftest import eventually, notifier_idle, read_topic

SMS, EMAIL = pb.CHANNEL_SMS, pb.CHANNEL_EMAIL


class FakeSender:
    def __init__(self, channel: pb.Channel, failures: Sequence[Failed] = (), delay_s: float = 0.0):
        self.channel = channel
        self.sent: list[npb.NotificationJob] = []
        self.tries = 0
        self.failures = list(failures)
        self.delay_s = delay_s

    async def send(self, job: npb.NotificationJob) -> Outcome:
        self.tries += 1
        await asyncio.sleep(self.delay_s)
        if self.failures:
            return self.failures.pop(0)
        self.sent.append(job)
        return Sent(f"fake-{len(self.sent)}")

    async def find(self, job: npb.NotificationJob, since_ms: int) -> Outcome | None:
        ids = [j.notification_id for j in self.sent]
        if job.notification_id in ids:
            return Sent(f"fake-{ids.index(job.notification_id) + 1}")
        return None

    async def close(self) -> None:
        return None


@asynccontextmanager
async def running_notifier(settings: Settings, senders: Sequence[Sender]) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(service.serve(settings, stop, senders=senders))
    try:
        yield
    finally:
        stop.set()
        await task


def jobs_for(
    status: Status,
    *,
    sender_phone: str = "+40721234567",
    minutes_ago: float = 0,
    shipment_id: str | None = None,
) -> list[bytes]:
    reg = pb.ShipmentRegistered(tracking_id="t" * 20)
    reg.sender.contacts.add(
        name="A", phone=sender_phone, email="a@example.com", channels=[SMS, EMAIL], time_zone="UTC"
    )
    reg.recipient.contacts.add(name="B", email="b@example.com", channels=[EMAIL])
    event = pb.ShipmentEvent(
        event_id=str(uuid.uuid4()), shipment_id=shipment_id or f"n-{uuid.uuid4().hex[:8]}"
    )
    when = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    event.occurred_at.FromDatetime(when)
    event.recorded_at.FromDatetime(when)
    event.status_changed.status = status.proto
    return [j.SerializeToString() for j in plan(event, reg)]


async def produce(settings: Settings, jobs: Sequence[bytes]) -> None:
    await kafka.ensure_topics(settings)
    producer = kafka.producer(settings)
    await producer.start()
    try:
        for raw in jobs:
            job = npb.NotificationJob.FromString(raw)
            await producer.send_and_wait(
                settings.notifications_topic, key=job.shipment_id.encode(), value=raw
            )
    finally:
        await producer.stop()


def fast(settings: Settings) -> Settings:
    return settings.with_(retry_first_s=0.2, send_timeout_s=2.0, quiet_hours="")


async def test_each_job_is_sent_once_even_when_delivered_twice(
    settings: Settings, redis: Redis
) -> None:
    settings = fast(settings)
    sms, email = FakeSender(SMS), FakeSender(EMAIL)
    jobs = jobs_for(Status.DELIVERED)  # sender: sms + email; recipient: email
    async with running_notifier(settings, [sms, email]):
        await produce(settings, jobs + jobs)  # a tracker that re-emitted after a crash
        await eventually(lambda: _count(lambda: len(sms.sent) + len(email.sent) >= 3))
        await eventually(lambda: notifier_idle(settings, redis))  # a duplicate would be sent
    assert len(sms.sent) == 1
    assert sorted(j.address for j in email.sent) == ["a@example.com", "b@example.com"]
    shipment = npb.NotificationJob.FromString(jobs[0]).shipment_id
    states = await NoticeBook(redis, settings.notifications_topic).of_shipment(shipment)
    assert sorted(s["s"] for s in states.values()) == ["sent", "sent", "sent"]
    assert await redis.zcard(due_key(settings.notifications_topic)) == 0


async def test_transient_failures_are_retried_later_and_sent_once(
    settings: Settings, redis: Redis
) -> None:
    settings = fast(settings)
    down = [Failed("twilio 500", permanent=False, code="500")] * 2
    sms, email = FakeSender(SMS, down), FakeSender(EMAIL)
    jobs = jobs_for(Status.PICKED_UP)
    async with running_notifier(settings, [sms, email]):
        await produce(settings, jobs)
        await eventually(lambda: _count(lambda: len(sms.sent) == 1))
    assert (sms.tries, len(sms.sent)) == (3, 1)
    sid = npb.NotificationJob.FromString(jobs[0]).shipment_id
    sms_state = [
        s
        for s in (await NoticeBook(redis, settings.notifications_topic).of_shipment(sid)).values()
        if s["c"] == "sms"
    ]
    assert sms_state[0]["s"] == "sent"
    assert sms_state[0]["n"] == 3


async def test_a_permanent_failure_is_not_retried_and_an_opt_out_is_kept(
    settings: Settings, redis: Redis
) -> None:
    settings = fast(settings)
    phone = "+37369000111"
    sms = FakeSender(
        SMS, [Failed("twilio 400 21610", permanent=True, code="21610", opted_out=True)]
    )
    email = FakeSender(EMAIL)
    async with running_notifier(settings, [sms, email]):
        await produce(settings, jobs_for(Status.CONFIRMED, sender_phone=phone))
        book = NoticeBook(
            redis, settings.notifications_topic, opt_out_secret=settings.opt_out_secret
        )
        await eventually(lambda: book.opted_out(phone))
        await produce(settings, jobs_for(Status.PICKED_UP, sender_phone=phone))
        await eventually(lambda: _count(lambda: len(email.sent) >= 3))
        await eventually(lambda: notifier_idle(settings, redis))  # an SMS would be tried
    assert sms.tries == 1  # not retried, and the next SMS to that number not even tried
    assert sms.sent == []


class HangingSender(FakeSender):
    """A provider that takes requests and never answers: every send waits until released."""

    def __init__(self, channel: pb.Channel) -> None:
        super().__init__(channel)
        self.release = asyncio.Event()

    async def send(self, job: npb.NotificationJob) -> Outcome:
        self.tries += 1
        await self.release.wait()
        return Failed("timeout", permanent=False)


async def test_a_provider_outage_does_not_hold_up_the_other_channel(settings: Settings) -> None:
    settings = fast(settings)
    sms, email = HangingSender(SMS), FakeSender(EMAIL)
    jobs = [j for _ in range(10) for j in jobs_for(Status.DELIVERED)]
    async with running_notifier(settings, [sms, email]):
        await produce(settings, jobs)
        await eventually(lambda: _count(lambda: len(email.sent) == 20), timeout_s=30)
        hanging = sms.tries  # SMS sends begun, none answered: every email went meanwhile
        sms.release.set()
    assert hanging >= 1
    assert sms.sent == []


async def test_quiet_hours_defer_sms_email_goes_and_only_the_latest_sms_is_sent(
    settings: Settings, redis: Redis
) -> None:
    now = datetime.now(UTC)
    window = f"{(now - timedelta(hours=1)):%H:%M}-{(now + timedelta(hours=1)):%H:%M}"
    night = fast(settings).with_(quiet_hours=window)
    sid = f"q-{uuid.uuid4().hex[:8]}"
    earlier = jobs_for(Status.PICKED_UP, shipment_id=sid, minutes_ago=5)
    later = jobs_for(Status.DELIVERED, shipment_id=sid)
    sms, email = FakeSender(SMS), FakeSender(EMAIL)
    async with running_notifier(night, [sms, email]):
        await produce(night, earlier + later)
        await eventually(lambda: _count(lambda: len(email.sent) == 4))
        book = NoticeBook(redis, settings.notifications_topic)
        await eventually(lambda: _states(book, sid, "deferred", 2))
    assert sms.sent == []
    # Morning comes: the deferred notices come due; only the latest status goes.
    due = due_key(settings.notifications_topic)
    members = [m for m in await redis.zrange(due, 0, -1) if isinstance(m, bytes)]
    await redis.zadd(due, dict.fromkeys(members, 0))
    async with running_notifier(fast(settings), [sms, email]):
        await eventually(lambda: _states(book, sid, "superseded", 1))
        await eventually(lambda: _count(lambda: len(sms.sent) == 1))
    assert sms.sent[0].status == pb.STATUS_DELIVERED


async def test_notices_too_old_go_to_the_dead_letter_topic_and_redrive_sends_them(
    settings: Settings, redis: Redis
) -> None:
    settings = fast(settings).with_(retry_max_age_s=1)
    jobs = jobs_for(Status.CONFIRMED, minutes_ago=1)  # sender only: sms + email
    failing = FakeSender(SMS, [Failed("twilio 503", permanent=False)])
    async with running_notifier(settings, [failing, FakeSender(EMAIL)]):
        await produce(settings, jobs)
        [letter] = await read_topic(settings, settings.notifications_dead_letter_topic, 1)
    assert dict(letter.headers)["reason"].startswith(b"gave up after 1 attempts")
    done = await redrive(settings, idle_s=1.0)
    assert (done.jobs, done.unreadable) == (1, 0)
    sms = FakeSender(SMS)
    async with running_notifier(settings, [sms, FakeSender(EMAIL)]):
        await eventually(lambda: _count(lambda: len(sms.sent) == 1))
    sid = npb.NotificationJob.FromString(jobs[0]).shipment_id
    states = await NoticeBook(redis, settings.notifications_topic).of_shipment(sid)
    assert sorted(s["s"] for s in states.values()) == ["sent", "sent"]


async def test_a_malformed_job_is_dead_lettered(settings: Settings) -> None:
    await kafka.ensure_topics(settings)
    producer = kafka.producer(settings)
    await producer.start()
    await producer.send_and_wait(settings.notifications_topic, value=b"\xff\x00junk")
    await producer.stop()
    email = FakeSender(EMAIL)
    async with running_notifier(fast(settings), [FakeSender(SMS), email]):
        [letter] = await read_topic(settings, settings.notifications_dead_letter_topic, 1)
    assert letter.value == b"\xff\x00junk"
    assert dict(letter.headers)["reason"] == b"not a NotificationJob"


async def _count(check: Callable[[], bool]) -> bool:
    return check()


async def _states(book: NoticeBook, sid: str, state: str, count: int) -> bool:
    states = await book.of_shipment(sid)
    return sum(s["s"] == state for s in states.values()) == count  # type: ignore[no-any-return]


class CountingSender(FakeSender):
    def __init__(self, channel: pb.Channel, delay_s: float) -> None:
        super().__init__(channel, delay_s=delay_s)
        self.now = 0
        self.most = 0
        self.times: list[float] = []

    async def send(self, job: npb.NotificationJob) -> Outcome:
        self.now += 1
        self.most = max(self.most, self.now)
        self.times.append(asyncio.get_running_loop().time())
        try:
            return await super().send(job)
        finally:
            self.now -= 1


async def test_sends_are_bounded_per_channel(settings: Settings) -> None:
    settings = fast(settings).with_(sends_in_flight=3, emails_per_second=1000)
    email = CountingSender(EMAIL, delay_s=0.05)
    jobs = [j for _ in range(20) for j in jobs_for(Status.DELIVERED)]  # 40 emails
    async with running_notifier(settings, [FakeSender(SMS), email]):
        await produce(settings, jobs)
        await eventually(lambda: _count(lambda: len(email.sent) == 40), timeout_s=30)
    assert email.most == 3


async def test_sends_are_rate_limited_per_channel(settings: Settings) -> None:
    """One email a second: the second waits for the limiter while the loop runs everything
    else that is ready (no clock is read: a turn of the loop takes far less than a second)."""
    settings = fast(settings).with_(sends_in_flight=3, emails_per_second=1)
    email = CountingSender(EMAIL, delay_s=0)
    async with running_notifier(settings, [FakeSender(SMS), email]):
        await produce(settings, jobs_for(Status.DELIVERED))  # 2 emails (and an SMS)
        await eventually(lambda: _count(lambda: len(email.sent) >= 1), timeout_s=30)
        for _ in range(20):
            await asyncio.sleep(0)
        assert len(email.sent) == 1
        await eventually(lambda: _count(lambda: len(email.sent) == 2), timeout_s=30)


# -- the notice book against redis-server alone: states, and what a final notice keeps ---

SMS_META = {"c": "sms", "p": "recipient", "st": "out_for_delivery", "ev": str(uuid.uuid4())}


def _book(redis: Redis) -> tuple[NoticeBook, str]:
    return NoticeBook(redis, "jobs-book", opt_out_secret="s"), f"book-{uuid.uuid4().hex[:8]}"


def _recent(state: dict[str, object]) -> dict[str, object]:
    """The state without its time, once checked to be now."""
    at = state.pop("t")
    assert isinstance(at, int)
    assert abs(at - now_ms()) < 60_000
    return state


async def test_a_final_notice_keeps_what_operators_see_and_drops_what_sending_needed(
    redis: Redis,
) -> None:
    book, sid = _book(redis)
    nid, twilio_sid = str(uuid.uuid4()), "SM" + uuid.uuid4().hex
    first = await book.claim(sid, nid, SMS_META, lease_s=30, planned_ms=0)
    assert first.attempt == 1
    assert (await book.claim(sid, nid, SMS_META, lease_s=30, planned_ms=0)).attempt == -1  # leased
    timeout = {"e": "twilio no answer: TimeoutError()", "due": now_ms(), "q": first.at_ms}
    await book.update(sid, nid, "retrying", timeout)
    waiting = (await book.of_shipment(sid))[nid]
    assert (waiting["s"], waiting["e"], waiting["q"]) == ("retrying", timeout["e"], first.at_ms)
    again = await book.claim(sid, nid, SMS_META, lease_s=30, planned_ms=0)
    assert (again.attempt, again.in_doubt_since_ms) == (2, first.at_ms)
    await book.update(sid, nid, "sent", SMS_META | {"id": twilio_sid})
    assert await book.receipt(sid, nid, "delivered", None) == "delivered"
    assert await book.receipt(sid, nid, "sent", None) == "delivered"  # late: no step back
    assert _recent((await book.of_shipment(sid))[nid]) == {
        "k": 3,
        "s": "delivered",
        "r": "sent",
        "n": 2,
        "d": 1,
        "id": twilio_sid,
        **SMS_META,
    }
    assert (await book.claim(sid, nid, SMS_META, lease_s=30, planned_ms=0)).attempt == 0
    assert not await redis.exists("{shp:" + sid + "}:sending")  # gone with the last in flight


async def test_an_email_noted_as_gone_is_claimed_as_gone_once_its_lease_ends(
    redis: Redis,
) -> None:
    """A sender that stopped after SMTP took the email and before it was final: the next
    claim says it went (no doubt, nothing to send), and the final state drops the note."""
    book, sid = _book(redis)
    nid, message_id = str(uuid.uuid4()), f"<{uuid.uuid4()}@notices.carrier-example.com>"
    meta = SMS_META | {"c": "email"}
    first = await book.claim(sid, nid, meta, lease_s=0.05, planned_ms=0)
    await book.went(sid, nid, message_id)
    held = await book.claim(sid, nid, meta, lease_s=30, planned_ms=0)
    assert held.attempt == -1  # still its sender's while the lease lasts
    await asyncio.sleep(0.1)
    again = await book.claim(sid, nid, meta, lease_s=30, planned_ms=0)
    assert (again.attempt, again.went, again.in_doubt_since_ms) == (2, message_id, None)
    assert "d" not in (await book.of_shipment(sid))[nid]  # not counted as in doubt
    await book.update(sid, nid, "sent", meta | {"id": message_id})
    final = (await book.of_shipment(sid))[nid]
    assert (final["s"], final["id"], "w" in final) == ("sent", message_id, False)
    assert first.went == ""
    await book.went(sid, nid, message_id)  # a late note changes nothing final
    later = (await book.of_shipment(sid))[nid]
    assert {k: v for k, v in later.items() if k != "t"} == {
        k: v for k, v in final.items() if k != "t"
    }


async def test_a_delivered_shipments_notices_stay_a_listpack(redis: Redis) -> None:
    """Three SMS with receipts and three emails, each value within Redis' default
    hash-max-listpack-value (64 bytes), so the hash stays compact."""
    book, sid = _book(redis)
    for status in ("picked_up", "out_for_delivery", "delivered"):
        ev = str(uuid.uuid4())
        for channel, party in (("sms", "recipient"), ("email", "sender")):
            meta = {"c": channel, "p": party, "st": status, "ev": ev}
            nid = str(uuid.uuid4())
            await book.claim(sid, nid, meta, lease_s=30, planned_ms=0)
            sms = channel == "sms"
            pid = "SM" + uuid.uuid4().hex if sms else f"<{nid}@notices.carrier-example.com>"
            await book.update(sid, nid, "sent", meta | {"id": pid})
            if sms:
                await book.receipt(sid, nid, "sent", None)
                await book.receipt(sid, nid, "delivered", None)
    stored = await redis.hgetall(notices_key(sid))
    assert stored.pop(b"@") == b"notices.carrier-example.com"  # once, not in every email's
    assert len(stored) == 6
    assert max(len(v) for v in stored.values()) <= 64
    assert await redis.object("encoding", notices_key(sid)) == b"listpack"


async def test_a_redriven_notice_is_in_flight_again_and_sent_once(redis: Redis) -> None:
    book, sid = _book(redis)
    nid = str(uuid.uuid4())
    meta = SMS_META | {"c": "email", "p": "sender"}
    await book.claim(sid, nid, meta, lease_s=30, planned_ms=0)
    await book.update(sid, nid, "dead", meta | {"e": "smtp 421: try later"})
    assert (await book.claim(sid, nid, meta, lease_s=30, planned_ms=0)).attempt == 0
    assert await book.update(sid, nid, "redriven", force=True) == "redriven"
    assert (await book.of_shipment(sid))[nid]["s"] == "redriven"
    assert (await book.claim(sid, nid, meta, lease_s=30, planned_ms=0)).attempt == 2
    await book.update(sid, nid, "sent", meta | {"id": f"<{nid}@mail.example>"})
    assert _recent((await book.of_shipment(sid))[nid]) == {
        "k": 2,
        "s": "sent",
        "n": 2,
        "id": f"<{nid}@mail.example>",
        **meta,
    }  # the outcome replaced the error


async def test_a_receipt_before_the_sender_records_its_send(redis: Redis) -> None:
    book, sid = _book(redis)
    nid, twilio_sid = str(uuid.uuid4()), "SM" + uuid.uuid4().hex
    await book.claim(sid, nid, SMS_META, lease_s=30, planned_ms=0)
    await book.receipt(sid, nid, "delivered", None)  # the provider's callback came first
    assert (await book.claim(sid, nid, SMS_META, lease_s=30, planned_ms=0)).attempt == 0
    assert await book.update(sid, nid, "sent", SMS_META | {"id": twilio_sid}) == "delivered"
    state = (await book.of_shipment(sid))[nid]
    assert (state["s"], state["r"], state["id"], state["ev"]) == (
        "delivered",
        "delivered",
        twilio_sid,
        SMS_META["ev"],
    )


async def test_notices_stored_before_compact_records_are_read_and_never_sent_again(
    redis: Redis,
) -> None:
    book, sid = _book(redis)
    done, waiting = str(uuid.uuid4()), str(uuid.uuid4())
    legacy = {"k": 2, "n": 1, "t": 5, "l": 9, **SMS_META, "id": "SM" + "0" * 32}
    await redis.hset(
        notices_key(sid),
        mapping={
            done: json.dumps(legacy | {"s": "sent"}),
            waiting: json.dumps(legacy | {"s": "retrying", "k": 1, "e": "twilio 503", "due": 7}),
        },
    )
    assert (await book.claim(sid, done, SMS_META, lease_s=30, planned_ms=0)).attempt == 0
    assert await book.receipt(sid, done, "delivered", None) == "delivered"
    assert (
        await book.claim(sid, waiting, SMS_META, lease_s=30, planned_ms=0)
    ).attempt == 2  # goes on
    await book.update(sid, waiting, "sent", SMS_META | {"id": "SM" + "1" * 32})
    states = await book.of_shipment(sid)
    assert (states[done]["s"], states[done]["r"], states[done]["id"]) == (
        "delivered",
        "delivered",
        "SM" + "0" * 32,
    )
    assert (states[waiting]["s"], states[waiting]["n"], states[waiting]["st"]) == (
        "sent",
        2,
        "out_for_delivery",
    )


async def test_any_ids_and_errors_come_back_as_they_were_given(redis: Redis) -> None:
    book, sid = _book(redis)
    meta = {"c": "?", "p": "sender", "st": "unspecified", "ev": "not|a uuid"}
    odd = {"id": "MM|x%y", "e": "no sender | for this channel", "code": "x-1"}
    await book.update(sid, "nid|1", "rejected", meta | odd)
    state = _recent((await book.of_shipment(sid))["nid|1"])
    assert state == {"k": 3, "s": "rejected", **meta, **odd}


async def test_the_notices_expire_with_their_delivered_shipment(redis: Redis) -> None:
    book, sid = _book(redis)
    delivered = pb.ShipmentEvent(event_id=str(uuid.uuid4()), shipment_id=sid)
    delivered.occurred_at.FromMilliseconds(now_ms())
    delivered.status_changed.status = pb.STATUS_DELIVERED
    await TrackingStore(redis, retention_days=2).apply([delivered])
    nid = str(uuid.uuid4())
    await book.update(sid, nid, "sent", SMS_META | {"id": "SM" + uuid.uuid4().hex})
    assert 2 * 86400 - 10 < await redis.ttl(notices_key(sid)) <= 2 * 86400


async def test_a_survey_loop_notice_keeps_its_kind_in_flight_and_once_final(redis: Redis) -> None:
    book, sid = _book(redis)
    ev = str(uuid.uuid4())
    kinds = (
        ("survey", "sms", "recipient"),
        ("follow_up", "sms", "recipient"),
        ("apology", "email", "sender"),
        ("case_alert", "email", "?"),  # an answer on the tracking page names no party
    )
    for kind, channel, party in kinds:
        meta = {"c": channel, "p": party, "st": "delivered", "ev": ev, "kind": kind}
        nid = str(uuid.uuid4())
        await book.update(sid, nid, "deferred", meta | {"until": 5})  # a survey's wait
        assert (await book.of_shipment(sid))[nid]["kind"] == kind
        assert (await book.claim(sid, nid, meta, lease_s=30, planned_ms=0)).attempt == 1
        sms = channel == "sms"
        pid = "SM" + uuid.uuid4().hex if sms else f"<{nid}@notices.carrier-example.com>"
        await book.update(sid, nid, "sent", meta | {"id": pid})
        if sms:  # a receipt rewrites the record: the kind stays
            await book.receipt(sid, nid, "delivered", None)
        receipt = {"r": "delivered", "s": "delivered", "k": 3} if sms else {"s": "sent", "k": 2}
        assert _recent((await book.of_shipment(sid))[nid]) == {"n": 1, "id": pid, **meta, **receipt}
    stored = await redis.hgetall(notices_key(sid))
    stored.pop(b"@")
    assert max(len(v) for v in stored.values()) <= 64  # an SMS with its SID and receipt too
    assert await redis.object("encoding", notices_key(sid)) == b"listpack"


async def test_a_status_notices_record_is_as_before_and_a_kind_follows_its_head(
    redis: Redis,
) -> None:
    """Records written before kinds existed read the same: a status notice's has no kind,
    and a survey's only adds '+' and a letter after the fixed head (14 characters)."""
    book, sid = _book(redis)
    ids: dict[str | None, str] = {}
    for kind in (None, "survey"):
        meta = {"c": "sms", "p": "recipient", "st": "delivered", "ev": SMS_META["ev"]}
        meta |= {"kind": kind} if kind else {}
        ids[kind] = nid = str(uuid.uuid4())
        await book.claim(sid, nid, meta, lease_s=30, planned_ms=0)
        await book.update(sid, nid, "sent", meta | {"id": "SM" + "7" * 32})
    status = await redis.hget(notices_key(sid), ids[None])
    survey = await redis.hget(notices_key(sid), ids["survey"])
    assert isinstance(status, bytes)
    assert isinstance(survey, bytes)
    # the same record but for the time it was written (characters 6 to 14) and the kind
    assert (survey[:6], survey[14:16], survey[16:]) == (status[:6], b"+s", status[14:])
    assert b"+" not in status


async def test_a_throttled_survey_is_final_and_never_claimed_again(redis: Redis) -> None:
    book, sid = _book(redis)
    nid = str(uuid.uuid4())
    meta = SMS_META | {"st": "delivered", "kind": "survey"}
    assert (await book.claim(sid, nid, meta, lease_s=30, planned_ms=0)).attempt == 1
    await book.update(sid, nid, "throttled", meta)
    assert _recent((await book.of_shipment(sid))[nid]) == {"k": 3, "s": "throttled", "n": 1, **meta}
    assert (await book.claim(sid, nid, meta, lease_s=30, planned_ms=0)).attempt == 0
