"""A courier's tap to SMS and email, through the real twilio library to the SMS sandbox and
aiosmtplib to a real SMTP server: exactly the expected notices, each once, whatever fails."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiokafka import AIOKafkaConsumer
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from shipnotify import kafka, web
from shipnotify.config import Settings
from shipnotify.devstack.mail_sandbox import MailSandbox
from shipnotify.devstack.processes import free_port
from shipnotify.devstack.sms_sandbox import SmsSandbox
from shipnotify.hooks import app as hooks_app
from shipnotify.ingest import app as ingest_app
from shipnotify.model.notices import plan
from shipnotify.model.sms import segments as sms_segments
from shipnotify.notifier import service as notifier
from shipnotify.notifier.outcomes import Sent
from shipnotify.notifier.worker import Notifier
from shipnotify.status_api import app as status_app
from shipnotify.store import TrackingStore, intact
from shipnotify.store.notices import NoticeBook
from shipnotify.store.survey_throttle import SurveyThrottle
from shipnotify.tracker.consumer import Tracker
from shipnotify.tracker.notices import plan_notices
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb

from .conftest import Api, api_key, courier, eventually, running_tracker, settled, tap, unique

SENDER_PHONE, RECIPIENT_PHONE = "+40721234567", "+37369123456"
ACCOUNT, TOKEN = "AC" + "0" * 32, "sandbox-auth-token"


@dataclass
class Stack:
    settings: Settings
    api: Api
    sms: SmsSandbox
    mail: MailSandbox
    book: NoticeBook
    redis: Redis

    async def register(self, shipment_id: str, recipient_phone: str = RECIPIENT_PHONE) -> str:
        body = {
            "shipment_id": shipment_id,
            "sender": {
                "contacts": [
                    {
                        "name": "Ana",
                        "phone": SENDER_PHONE,
                        "email": "ana@example.com",
                        "locale": "ru",
                    }
                ]
            },
            "recipient": {
                "contacts": [
                    {
                        "name": "Мария",
                        "phone": recipient_phone,
                        "locale": "ro",
                        "time_zone": "Europe/Chisinau",
                    }
                ]
            },
        }
        resp = await self.api.post("/v1/shipments", json=body, headers=api_key(self.settings))
        assert resp.status == 202, await resp.text()
        tracking_id: str = (await resp.json())["tracking_id"]
        return tracking_id

    async def tap(self, shipment_id: str, status: str, **extra: Any) -> dict[str, Any]:
        body = tap(status, **extra)
        resp = await self.api.post(
            f"/v1/shipments/{shipment_id}/events", json=body, headers=courier(self.settings)
        )
        assert resp.status == 202, await resp.text()
        return body

    async def settled(self) -> bool:
        return await settled(self.settings, self.redis)

    def sms_to(self, phone: str) -> list[str]:
        return [m.body for m in self.sms.messages if m.to == phone]

    def mail_to(self, address: str) -> list[EmailMessage]:
        return [m.message for m in self.mail.messages if address in m.rcpt_tos]


@pytest.fixture
async def stack(settings: Settings, redis: Redis) -> AsyncIterator[Stack]:
    mail = MailSandbox()
    mail.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with SmsSandbox(ACCOUNT, TOKEN).running() as sms:
        settings = settings.with_(
            twilio_account_sid=ACCOUNT,
            twilio_auth_token=TOKEN,
            twilio_from="+15005550006",
            twilio_api_url=sms.base_url,
            smtp_host="127.0.0.1",
            smtp_port=mail.port,
            mail_from="Carrier <notices@carrier.example>",
            public_url=base,
            webhook_url=base,
            retry_first_s=0.2,
            send_timeout_s=2.0,
            quiet_hours="",
        )
        await kafka.ensure_topics(settings)
        app = web.new_app(settings.max_body_bytes)
        ingest_app.install(app, settings)
        status_app.install(app, settings)
        hooks_app.install(app, settings)
        async with TestClient(TestServer(app, port=port)) as api:
            await eventually(lambda: _ready(app))
            yield Stack(
                settings,
                api,
                sms,
                mail,
                NoticeBook(
                    redis, settings.notifications_topic, opt_out_secret=settings.opt_out_secret
                ),
                redis,
            )
        await sms.settled()
    mail.stop()


@asynccontextmanager
async def running_notifier(settings: Settings) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(notifier.serve(settings, stop))
    try:
        yield
    finally:
        stop.set()
        await task


async def until(check: Callable[[], bool], timeout_s: float = 20.0) -> None:
    async def poll() -> bool:
        return check()

    await eventually(poll, timeout_s)


async def test_one_status_sends_exactly_the_expected_notices(stack: Stack) -> None:
    sid = unique("n")
    async with running_tracker(stack.settings), running_notifier(stack.settings):
        await stack.register(sid)
        await stack.tap(sid, "picked_up")
        await until(lambda: len(stack.sms.messages) == 2 and len(stack.mail.messages) == 1)
        await eventually(stack.settled)  # a duplicate, if there were one, is sent by now
        await stack.sms.settled()

        async def delivered() -> bool:
            states = await stack.book.of_shipment(sid)
            return sorted(s["s"] for s in states.values()) == ["delivered", "delivered", "sent"]

        await eventually(delivered)  # the SMS receipts came back through the signed webhook
    [to_sender] = stack.sms_to(SENDER_PHONE)
    [to_recipient] = stack.sms_to(RECIPIENT_PHONE)
    assert "/t/" in to_recipient
    assert any("\u0400" <= ch <= "\u04ff" for ch in to_sender)  # in Russian
    assert sms_segments(to_sender) == sms_segments(to_recipient) == 1
    [mail] = stack.mail_to("ana@example.com")
    assert mail.is_multipart()
    assert {p.get_content_type() for p in mail.iter_parts()} == {"text/plain", "text/html"}
    assert mail["Message-ID"].endswith("@carrier.example>")
    assert mail["List-Unsubscribe"].startswith("<mailto:notices@carrier.example")
    assert any("\u0400" <= ch <= "\u04ff" for ch in str(mail["Subject"]))
    [raw] = [m.raw for m in stack.mail.messages]
    assert b"Subject: =?utf-8?" in raw  # RFC 2047, UTF-8
    resp = await stack.api.get(f"/v1/shipments/{sid}/notices", headers=api_key(stack.settings))
    notices = (await resp.json())["notices"]
    assert {(n["channel"], n["party"]) for n in notices} == {
        ("sms", "sender"),
        ("email", "sender"),
        ("sms", "recipient"),
    }
    assert (await stack.api.get(f"/v1/shipments/{sid}/notices")).status == 401


async def test_a_tracker_restarted_before_its_commit_sends_no_duplicate(stack: Stack) -> None:
    sid = unique("n")
    s = stack.settings
    await stack.register(sid)
    await stack.tap(sid, "out_for_delivery")
    # A tracker applies the batch and emits its jobs, then dies before committing.
    consumer = AIOKafkaConsumer(
        s.events_topic,
        bootstrap_servers=s.kafka_bootstrap,
        group_id=s.tracker_group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = kafka.producer(s)
    await consumer.start()
    await producer.start()
    try:
        records: list[Any] = []
        async with asyncio.timeout(20):
            while len(records) < 2:
                batch = await consumer.getmany(timeout_ms=200)
                records += [r for recs in batch.values() for r in recs]
        store = TrackingStore(stack.redis)
        await intact.mark(stack.redis)  # as a tracker's first start does, which this one skips
        await asyncio.gather(
            *await Tracker(s, store, consumer, producer, plan_notices).handle(records)
        )
    finally:
        await consumer.stop()  # no commit
        await producer.stop()
    async with running_tracker(s), running_notifier(s):  # the restart replays the batch
        await until(lambda: len(stack.sms.messages) >= 1)
        await eventually(stack.settled)  # the replayed batch's jobs too
    assert len(stack.sms_to(RECIPIENT_PHONE)) == 1  # out_for_delivery: the recipient only
    assert stack.sms_to(SENDER_PHONE) == []


async def test_an_sms_outage_delays_notices_but_each_arrives_once(stack: Stack) -> None:
    sid = unique("n")
    stack.sms.fail_for(6.0, status=500)  # longer than the consumer groups take to join
    async with running_tracker(stack.settings), running_notifier(stack.settings):
        tid = await stack.register(sid)
        await stack.tap(sid, "delivered")
        await until(lambda: len(stack.mail.messages) == 1)  # email is not held up
        resp = await stack.api.get(f"/v1/track/{tid}")  # nor the tracking state
        assert (await resp.json())["status"] == "delivered"
        assert stack.sms.messages == []
        await until(lambda: len(stack.sms.messages) == 2, timeout_s=30)
        await eventually(stack.settled)
    assert len(stack.sms_to(SENDER_PHONE)) == 1
    assert len(stack.sms_to(RECIPIENT_PHONE)) == 1
    states = await stack.book.of_shipment(sid)
    assert max(s["n"] for s in states.values() if s["c"] == "sms") > 1  # it was retried


async def test_an_opted_out_number_is_not_retried_and_is_remembered(stack: Stack) -> None:
    sid = unique("n")
    stack.sms.opt_out(RECIPIENT_PHONE)  # the provider answers 21610
    async with running_tracker(stack.settings), running_notifier(stack.settings):
        await stack.register(sid)
        await stack.tap(sid, "picked_up")
        await eventually(lambda: stack.book.opted_out(RECIPIENT_PHONE))
        await until(lambda: len(stack.sms_to(SENDER_PHONE)) == 1)
        await eventually(stack.settled)  # a retry of the refused one, if there were one
    states = await stack.book.of_shipment(sid)
    [refused] = [s for s in states.values() if s["p"] == "recipient"]
    assert (refused["s"], refused["n"], refused["code"]) == ("opted_out", 1, "21610")


async def test_stop_and_start_by_sms_with_a_valid_signature(stack: Stack) -> None:
    url = f"{stack.settings.webhook_url}/v1/twilio/inbound"
    status, reply = await stack.sms.send_inbound(url, RECIPIENT_PHONE, "+15005550006", "STOP")
    assert status == 200
    assert "<Message>" in reply
    assert await stack.book.opted_out(RECIPIENT_PHONE)
    status, reply = await stack.sms.send_inbound(url, RECIPIENT_PHONE, "+15005550006", "start")
    assert status == 200
    assert not await stack.book.opted_out(RECIPIENT_PHONE)
    status, reply = await stack.sms.send_inbound(url, RECIPIENT_PHONE, "+15005550006", "help")
    assert "STOP" in reply


async def test_webhooks_with_a_bad_signature_get_403(stack: Stack) -> None:
    form = {"From": RECIPIENT_PHONE, "Body": "STOP"}
    for path in ("/v1/twilio/inbound", "/v1/twilio/status?s=x&n=y"):
        resp = await stack.api.post(path, data=form, headers={"X-Twilio-Signature": "forged"})
        assert resp.status == 403
        assert (await resp.json())["fields"] == {"X-Twilio-Signature": "invalid"}
        resp = await stack.api.post(path, data=form)
        assert resp.status == 403
    assert not await stack.book.opted_out(RECIPIENT_PHONE)


async def _ready(app: Any) -> bool:
    return bool(app[ingest_app.EVENT_LOG].ready)


async def test_no_phone_number_or_email_reaches_the_logs(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    sid = unique("n-logs")
    invalid = "+15005550001"  # the provider answers 21211, quoting the number
    reg = pb.ShipmentRegistered(tracking_id="p" * 20)
    reg.sender.contacts.add(
        name="Ana",
        phone=invalid,
        email="ana@example.com",
        channels=[pb.CHANNEL_SMS, pb.CHANNEL_EMAIL],
    )
    event = pb.ShipmentEvent(event_id=str(uuid.uuid4()), shipment_id=sid)
    event.occurred_at.GetCurrentTime()
    event.recorded_at.GetCurrentTime()
    event.status_changed.status = pb.STATUS_CONFIRMED
    producer = kafka.producer(stack.settings)
    await producer.start()
    for job in plan(event, reg):
        await producer.send_and_wait(
            stack.settings.notifications_topic, key=sid.encode(), value=job.SerializeToString()
        )
    await producer.stop()
    async with running_notifier(stack.settings):
        await until(lambda: len(stack.mail.messages) == 1)

        async def rejected() -> bool:
            states = await stack.book.of_shipment(sid)
            return any(s["s"] == "rejected" for s in states.values())

        await eventually(rejected)
    states = await stack.book.of_shipment(sid)
    logs = capsys.readouterr()
    for secret in (invalid, "ana@example.com"):
        assert secret not in logs.out + logs.err
        assert secret not in str(states)
    assert "21211" in logs.out + logs.err  # the reason itself is kept


def throttle(stack: Stack) -> SurveyThrottle:
    secret = stack.settings.opt_out_secret.encode()
    return SurveyThrottle(stack.redis, secret=secret, every_days=stack.settings.survey_every_days)


def _job(shipment_id: str, channel: pb.Channel, address: str) -> npb.NotificationJob:
    job = npb.NotificationJob(
        notification_id=str(uuid.uuid4()),
        shipment_id=shipment_id,
        event_id=str(uuid.uuid4()),
        tracking_id="T" * 20,
        party=npb.PARTY_ROLE_RECIPIENT,
        channel=channel,
        address=address,
        name="Ion",
        locale="en",
        status=pb.STATUS_OUT_FOR_DELIVERY,
    )
    job.planned_at.GetCurrentTime()
    return job


async def _after_a_crash_mid_send(stack: Stack, job: npb.NotificationJob) -> None:
    """Leaves the notice as a notifier killed while sending it leaves it, its lease over."""
    over = -1.0  # a lease that ended a second before it was taken
    assert (
        await stack.book.claim(job.shipment_id, job.notification_id, {}, over, planned_ms=0)
    ).attempt == 1


async def test_a_notice_in_doubt_after_a_crash_is_looked_up_and_never_sent_twice(
    stack: Stack,
) -> None:
    s = stack.settings
    producer = kafka.producer(s)
    await producer.start()
    senders = notifier.senders_from(s)
    worker = Notifier(
        s, book=stack.book, senders=senders, producer=producer, throttle=throttle(stack)
    )
    # Receipts come later: one that came first would settle the notice before the notifier
    # finds it in doubt, and no lookup would be made.
    stack.sms.callback_delay_s = 2.0
    try:
        # The provider took the message, then the notifier died before recording it.
        took_it = _job(unique("doubt"), pb.CHANNEL_SMS, "+40720000001")
        await _after_a_crash_mid_send(stack, took_it)
        first = await senders[0].send(took_it)
        assert isinstance(first, Sent)
        # The notifier died before its request left.
        never_got_it = _job(unique("doubt"), pb.CHANNEL_SMS, "+40720000002")
        await _after_a_crash_mid_send(stack, never_got_it)
        # Email cannot be looked up: it goes again, under the same Message-ID.
        mail = _job(unique("doubt"), pb.CHANNEL_EMAIL, "ion@example.com")
        await _after_a_crash_mid_send(stack, mail)

        for job in (took_it, never_got_it, mail):
            await worker.handle(job, job.SerializeToString())
    finally:
        await producer.stop()
        for sender in senders:
            await sender.close()

    assert [m.sid for m in stack.sms.messages if m.to == "+40720000001"] == [first.provider_id]
    assert len(stack.sms_to("+40720000002")) == 1
    assert [m["Message-ID"] for m in stack.mail_to("ion@example.com")] == [
        f"<{mail.notification_id}@carrier.example>"
    ]
    for job, provider_id in (
        (took_it, first.provider_id),
        (never_got_it, stack.sms.messages[-1].sid),
    ):
        state = (await stack.book.of_shipment(job.shipment_id))[job.notification_id]
        assert state["s"] == "sent"
        assert (state["id"], state["d"]) == (provider_id, 1)


async def test_an_sms_whose_answer_timed_out_is_looked_up_not_sent_again(stack: Stack) -> None:
    s = stack.settings
    producer = kafka.producer(s)
    await producer.start()
    senders = notifier.senders_from(s)
    worker = Notifier(
        s, book=stack.book, senders=senders, producer=producer, throttle=throttle(stack)
    )
    job = _job(unique("timeout"), pb.CHANNEL_SMS, "+40720000003")
    sent_before, unknown_before = _sms_sent(), _sms_unknown()
    try:
        # The provider takes the message but answers after our timeout (and its receipts,
        # which would also tell, come later still).
        stack.sms.response_delay_s = s.send_timeout_s + 0.5
        stack.sms.callback_delay_s = 4.0
        await worker.handle(job, job.SerializeToString())
        state = (await stack.book.of_shipment(job.shipment_id))[job.notification_id]
        assert state["s"] == "retrying", state
        assert "q" in state  # in doubt from that attempt on
        stack.sms.response_delay_s = 0.0
        await worker.handle(job, job.SerializeToString())  # the retry comes due
    finally:
        await producer.stop()
        for sender in senders:
            await sender.close()
    sent = [m.sid for m in stack.sms.messages if m.to == "+40720000003"]
    assert len(sent) == 1
    state = (await stack.book.of_shipment(job.shipment_id))[job.notification_id]
    assert state["s"] in {"sent", "delivered"}
    assert (state["id"], state["d"]) == (sent[0], 1)
    # the metrics count it once sent, after one attempt whose outcome was unknown
    assert (_sms_sent() - sent_before, _sms_unknown() - unknown_before) == (1, 1)


def _sms_sent() -> float:
    labels = {"channel": "sms", "outcome": "sent"}
    return REGISTRY.get_sample_value("shipnotify_notices_total", labels) or 0.0


def _sms_unknown() -> float:
    labels = {"channel": "sms", "kind": "unknown", "code": "network"}
    return REGISTRY.get_sample_value("shipnotify_send_failures_total", labels) or 0.0
