"""The notifier's webhook lane against real servers on loopback: receivers (aiohttp) that
verify every request with the Standard Webhooks library, the real notice book and webhook
store on redis-server, and a producer fake (the accounts topic's records are read from it).

Shown: every try verifies and carries the same webhook-id; a hanging endpoint holds at most
webhooks_per_endpoint tries and delays neither another endpoint nor an email; 410 disables
the endpoint; a 503's Retry-After is honoured; a rotation signs with both secrets; each try
is in the endpoint's delivery log; an endpoint failing for days is disabled and each member
of its account's team with an email address gets one email (a real SMTP server), in the
member's language."""

from __future__ import annotations

import asyncio
import base64
import os
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import orjson
import pytest
from aiohttp import web
from aiokafka import ConsumerRecord
from redis.asyncio import Redis
from standardwebhooks import Webhook

from shipnotify.config import Settings
from shipnotify.devstack.mail_sandbox import MailSandbox
from shipnotify.model import webhooks as wh
from shipnotify.notifier.outcomes import Failed, Outcome, Sent
from shipnotify.notifier.senders import SmtpEmail
from shipnotify.notifier.webhook_sender import WebhookSender
from shipnotify.notifier.worker import Notifier
from shipnotify.store import intact, keys
from shipnotify.store.notices import NoticeBook
from shipnotify.store.webhooks import WebhookStore
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb


def a_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float
    verified_by: list[str] = field(default_factory=list)


@dataclass
class Receiver:
    """One endpoint's server: `answers` says what each request gets (a status, with a
    Retry-After, or "hang"); every request is verified by every secret it is told of."""

    secrets: list[str]
    answers: list[tuple[int | str, str | None]] = field(default_factory=list)
    default: int | str = 204
    received: list[Received] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        got = Received(dict(request.headers), body, time.monotonic())
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, got.headers)
                got.verified_by.append(secret)
            except Exception:  # noqa: S110 - recorded as not verified by this secret
                pass
        self.received.append(got)
        answer, retry_after = self.answers.pop(0) if self.answers else (self.default, None)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if answer == "hang":
                await self.release.wait()
                return web.Response(status=204)
            headers = {"Retry-After": retry_after} if retry_after else {}
            return web.Response(status=int(answer), headers=headers)
        finally:
            self.in_flight -= 1


class FakeProducer:
    def __init__(self) -> None:
        self.records: list[tuple[str, bytes | None, bytes | None]] = []

    async def send(
        self,
        topic: str,
        value: bytes | None = None,
        *,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]],
    ) -> asyncio.Future[Any]:
        self.records.append((topic, value, key))
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


class AnyoneMayBeAsked:
    async def ask(self, address: str, survey_id: str) -> bool:
        return True


class FakeEmail:
    channel = pb.CHANNEL_EMAIL

    def __init__(self) -> None:
        self.sent: list[float] = []
        self.refuse: set[str] = set()  # addresses whose emails the relay refuses

    async def send(self, job: npb.NotificationJob) -> Outcome:
        self.sent.append(time.monotonic())
        if job.address in self.refuse:
            return Failed("550 no such user", permanent=True, code="550")
        return Sent("email-1")

    async def find(self, job: npb.NotificationJob, since_ms: int) -> Outcome | None:
        return None

    async def close(self) -> None:
        return None


@dataclass
class Lane:
    settings: Settings
    redis: Redis
    store: WebhookStore
    notifier: Notifier
    producer: FakeProducer
    email: FakeEmail
    book: NoticeBook
    port: int
    receivers: dict[str, Receiver]
    account_id: str

    async def endpoint(
        self, name: str, receiver: Receiver, *, secrets: Sequence[apb.EndpointSecret] = ()
    ) -> str:
        endpoint_id = "ep_" + uuid.uuid4().hex[:12]
        self.receivers[endpoint_id] = receiver
        endpoint = apb.Endpoint(
            endpoint_id=endpoint_id,
            url=f"http://127.0.0.1:{self.port}/{endpoint_id}",
            secrets=secrets or [apb.EndpointSecret(secret=receiver.secrets[0])],
            description=name,
        )
        await self.save(endpoint)
        return endpoint_id

    async def save(self, endpoint: apb.Endpoint) -> None:
        key = keys.account_endpoints_key(self.account_id)
        await self.redis.hset(key, endpoint.endpoint_id, endpoint.SerializeToString())

    async def send(self, endpoint_id: str, count: int = 1) -> list[npb.NotificationJob]:
        jobs = await self.plan(endpoint_id, count)
        await self.take(jobs)
        return jobs

    async def plan(self, endpoint_id: str, count: int = 1) -> list[npb.NotificationJob]:
        jobs = []
        stored = await self.store.endpoint(self.account_id, endpoint_id)
        assert stored is not None
        for n in range(count):
            shipment_id = "S-" + uuid.uuid4().hex[:8]
            message = wh.make(
                wh.STATUS_CHANGED,
                str(uuid.uuid4()),
                account_id=self.account_id,
                shipment_id=shipment_id,
                tracking_id="trk",
                version=n + 1,
                at=datetime.now(UTC),
                data={"status": "in_transit"},
            )
            jobs += wh.fan_out(message, [stored])
        return jobs

    async def take(self, jobs: Sequence[npb.NotificationJob]) -> None:
        records = [SimpleNamespace(value=j.SerializeToString()) for j in jobs]
        await self.notifier.take(cast(list[ConsumerRecord], records))


async def final_state(lane: Lane, job: npb.NotificationJob, within_s: float = 5.0) -> str:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        state = await lane.book.state_of(job.shipment_id, job.notification_id)
        if state not in (None, "sending", "retrying"):
            return state
        await asyncio.sleep(0.02)
    return str(await lane.book.state_of(job.shipment_id, job.notification_id))


@pytest.fixture
async def lane(settings: Settings, redis: Redis) -> AsyncIterator[Lane]:
    run = uuid.uuid4().hex[:8]
    settings = Settings(
        redis_url=settings.redis_url,
        redis_cluster=settings.redis_cluster,  # the cluster pass's too
        opt_out_secret="test-opt-out-" + run,
        quiet_hours="",
        retry_first_s=0.1,
        webhook_timeout_s=5.0,
        webhooks_per_endpoint=4,
        webhook_allow_loopback=True,
    ).in_namespace(f"test.{run}")
    await intact.mark(redis)  # as the services' start-up does: this Redis holds our state
    receivers: dict[str, Receiver] = {}

    async def route(request: web.Request) -> web.StreamResponse:
        return await receivers[request.match_info["endpoint"]].handle(request)

    app = web.Application()
    app.router.add_post("/{endpoint}", route)
    runner = web.AppRunner(app, handler_cancellation=True)  # a try given up ends here too
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    store = WebhookStore(redis, log_days=settings.webhook_log_days)
    book = NoticeBook(redis, settings.notifications_topic, opt_out_secret=settings.opt_out_secret)
    producer, email = FakeProducer(), FakeEmail()
    sender = WebhookSender(settings, endpoints=store)
    notifier = Notifier(
        settings,
        book=book,
        senders=[sender, email],
        producer=producer,
        throttle=AnyoneMayBeAsked(),
        webhooks=store,
    )
    stop = asyncio.Event()
    due = asyncio.create_task(notifier.due(stop, every_s=0.05))
    account = "acct_" + uuid.uuid4().hex[:12]
    yield Lane(
        settings,
        redis,
        store,
        notifier,
        producer,
        email,
        book,
        runner.addresses[0][1],
        receivers,
        account,
    )
    stop.set()
    for receiver in receivers.values():
        receiver.release.set()
    await due
    await notifier.drain(2.0)
    await sender.close()
    await runner.cleanup()


def an_email(shipment_id: str, address: str = "ana@example.com") -> npb.NotificationJob:
    email = npb.NotificationJob(
        notification_id=str(uuid.uuid4()),
        shipment_id=shipment_id,
        tracking_id="trk-" + shipment_id,
        channel=pb.CHANNEL_EMAIL,
        party=npb.PARTY_ROLE_RECIPIENT,
        address=address,
        status=pb.STATUS_IN_TRANSIT,
    )
    email.planned_at.GetCurrentTime()
    email.occurred_at.GetCurrentTime()
    return email


async def test_a_notice_of_an_owned_shipment_tells_its_endpoints(lane: Lane) -> None:
    await lane.endpoint("all", Receiver([a_secret()]))
    owned, carriers = "S-" + uuid.uuid4().hex[:8], "S-" + uuid.uuid4().hex[:8]
    await lane.redis.set(keys.owner_key(owned), lane.account_id)
    await lane.redis.hset(keys.state_key(owned), "v", 6)
    lane.email.refuse.add("gone@example.com")
    sent, refused, theirs = (
        an_email(owned),
        an_email(owned, "gone@example.com"),
        an_email(carriers),
    )
    await lane.take([sent, refused, theirs])
    assert [await final_state(lane, j) for j in (sent, refused, theirs)] == [
        "sent",
        "rejected",
        "sent",
    ]
    planned = [
        npb.NotificationJob.FromString(cast(bytes, value))
        for topic, value, _ in lane.producer.records
        if topic == lane.settings.notifications_topic
    ]
    bodies = {orjson.loads(j.webhook.payload)["data"]["notification_id"]: j for j in planned}
    assert set(bodies) == {sent.notification_id, refused.notification_id}
    told = bodies[sent.notification_id]
    assert told.channel == pb.CHANNEL_WEBHOOK
    assert told.webhook.event_type == "notice.sent"
    assert told.webhook.message_id == wh.message_id(wh.NOTICE_SENT, sent.notification_id)
    data = orjson.loads(told.webhook.payload)["data"]
    assert data["version"] == 6
    assert data["channel"] == "email"
    assert "ana@example.com" not in told.webhook.payload.decode()
    failed = bodies[refused.notification_id]
    assert failed.webhook.event_type == "notice.failed"
    assert orjson.loads(failed.webhook.payload)["data"]["state"] == "rejected"


async def test_every_try_is_signed_and_verifies(lane: Lane) -> None:
    receiver = Receiver([a_secret()])
    endpoint_id = await lane.endpoint("ok", receiver)
    (job,) = await lane.send(endpoint_id)
    assert await final_state(lane, job) == "sent"
    (got,) = receiver.received
    assert got.verified_by == receiver.secrets
    assert got.headers["webhook-id"] == job.webhook.message_id
    assert got.headers["Content-Type"] == "application/json"
    assert got.body == job.webhook.payload
    assert orjson.loads(got.body)["data"]["version"] == 1
    # kept for replays
    stored = await lane.redis.hget(keys.endpoint_bodies_key(endpoint_id), job.webhook.message_id)
    assert stored == job.SerializeToString()
    assert await lane.redis.zscore(
        keys.endpoint_messages_key(endpoint_id), job.webhook.message_id
    ) == float(job.webhook.created_at.ToMilliseconds())


async def test_a_hanging_endpoint_delays_no_other_endpoint_nor_an_email(lane: Lane) -> None:
    hanging, quick = Receiver([a_secret()], default="hang"), Receiver([a_secret()])
    slow_id = await lane.endpoint("hangs", hanging)
    quick_id = await lane.endpoint("quick", quick)
    # the same 20 with no endpoint hanging: on a loaded machine "a second" is this, tripled
    started = time.monotonic()
    alone = await lane.send(quick_id, 20)
    assert (
        await asyncio.gather(*(final_state(lane, j, within_s=10) for j in alone)) == ["sent"] * 20
    )
    second = max(1.0, 3 * (time.monotonic() - started))
    del quick.received[:]
    await lane.send(slow_id, 20)
    await asyncio.sleep(0.3)  # the hanging endpoint's tries are under way
    started = time.monotonic()
    jobs = await lane.send(quick_id, 20)
    email = npb.NotificationJob(
        notification_id=str(uuid.uuid4()),
        shipment_id="S-email",
        channel=pb.CHANNEL_EMAIL,
        address="ana@example.com",
        status=pb.STATUS_IN_TRANSIT,
    )
    email.planned_at.GetCurrentTime()
    email.occurred_at.GetCurrentTime()
    await lane.take([email])
    states = await asyncio.gather(*(final_state(lane, j, within_s=second) for j in jobs))
    assert states == ["sent"] * 20
    assert time.monotonic() - started < second
    assert len(quick.received) == 20
    assert all(r.verified_by for r in quick.received)
    assert lane.email.sent
    assert lane.email.sent[0] - started < second
    # the hanging endpoint holds only its own few tries (a try it timed out ends its request)
    assert hanging.most_in_flight == lane.settings.webhooks_per_endpoint


async def test_410_disables_the_endpoint(lane: Lane) -> None:
    receiver = Receiver([a_secret()], default=410)
    endpoint_id = await lane.endpoint("gone", receiver)
    (job,) = await lane.send(endpoint_id)
    (later,) = await lane.plan(endpoint_id)  # planned before the endpoint was disabled
    assert await final_state(lane, job) == "gone"
    assert len(receiver.received) == 1
    (record,) = [r for r in lane.producer.records if r[0] == lane.settings.accounts_topic]
    event = apb.AccountEvent.FromString(cast(bytes, record[1]))
    assert record[2] == lane.account_id.encode()
    assert event.account_id == lane.account_id
    assert event.endpoint_disabled.endpoint_id == endpoint_id
    # once the tracker has it disabled, its messages end without a try
    endpoint = await lane.store.endpoint(lane.account_id, endpoint_id)
    assert endpoint is not None
    endpoint.disabled = True
    await lane.save(endpoint)
    await lane.take([later])
    assert await final_state(lane, later) == "disabled"
    assert len(receiver.received) == 1
    assert await lane.redis.hexists(keys.endpoint_bodies_key(endpoint_id), later.webhook.message_id)


async def test_a_503_retry_after_is_honoured_with_the_same_webhook_id(lane: Lane) -> None:
    receiver = Receiver([a_secret()], answers=[(503, "1")])
    endpoint_id = await lane.endpoint("busy", receiver)
    (job,) = await lane.send(endpoint_id)
    assert await final_state(lane, job) == "sent"
    first, second = receiver.received
    assert second.at - first.at >= 1.0  # the backoff alone would be 0.1 s
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == job.webhook.message_id
    assert first.verified_by == second.verified_by == receiver.secrets
    # the delivery log: each try, its status and latency
    log = cast(
        list[tuple[bytes, dict[bytes, bytes]]],
        await lane.redis.xrange(keys.endpoint_log_key(endpoint_id)),
    )
    tries = [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in log]
    assert [(t["try"], t["status"], t["msg"]) for t in tries] == [
        ("1", "503", job.webhook.message_id),
        ("2", "204", job.webhook.message_id),
    ]
    assert tries[0]["error"] == "endpoint answered 503"
    assert tries[1]["error"] == ""
    assert all(int(t["ms"]) >= 0 and t["n"] == job.notification_id for t in tries)


async def test_a_rotation_signs_with_both_secrets(lane: Lane) -> None:
    new, old, expired = a_secret(), a_secret(), a_secret()
    receiver = Receiver([new, old, expired])
    rotated = apb.EndpointSecret(secret=old)
    rotated.expires_at.FromSeconds(int(time.time()) + 3600)
    gone = apb.EndpointSecret(secret=expired)
    gone.expires_at.FromSeconds(int(time.time()) - 1)
    endpoint_id = await lane.endpoint(
        "rotating", receiver, secrets=[apb.EndpointSecret(secret=new), rotated, gone]
    )
    (job,) = await lane.send(endpoint_id)
    assert await final_state(lane, job) == "sent"
    (got,) = receiver.received
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    assert got.verified_by == [new, old]  # each signature verifies with its own secret


async def tries(receiver: Receiver, count: int) -> None:
    """Until the endpoint has had `count` tries, and a moment for their outcomes."""
    for _ in range(250):
        if len(receiver.received) >= count:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)


ENDPOINT_DISABLED = npb.NOTICE_KIND_ENDPOINT_DISABLED
TEAM = [
    apb.TeamMember(name="Ana", email="ana@acme.example", locale="en", time_zone="Europe/Chisinau"),
    apb.TeamMember(name="Ivan", email="ivan@acme.example", locale="ru", time_zone="UTC"),
    apb.TeamMember(name="Night desk", phone="+37369123456", locale="en"),  # no email
]


async def test_an_endpoint_failing_for_days_is_disabled_and_its_team_told(
    lane: Lane, mail: MailSandbox
) -> None:
    account = keys.account_key(lane.account_id)
    await lane.redis.hset(
        account, mapping={"name": "Acme", "team": apb.TeamSet(members=TEAM).SerializeToString()}
    )
    # a Retry-After first, so that the second try comes after the streak is made longer
    receiver = Receiver([a_secret()], answers=[(503, "1")], default=500)
    endpoint_id = await lane.endpoint("down", receiver)
    days = lane.settings.webhook_disable_after_days
    health = keys.endpoint_health_key(endpoint_id)
    # failing a little less than the limit: one more failure disables nothing
    almost = int((time.time() - days * 86400 + 60) * 1000)
    await lane.redis.hset(health, "failing_since", almost)
    await lane.send(endpoint_id)
    await tries(receiver, 1)
    told = [r for r in lane.producer.records if r[0] == lane.settings.accounts_topic]
    assert told == []
    assert team_notices(lane) == []
    assert int(cast(bytes, await lane.redis.hget(health, "failing_since"))) == almost
    # past it: the next failure disables the endpoint
    await lane.redis.hset(health, "failing_since", almost - 120_000)
    await tries(receiver, 2)
    told = [r for r in lane.producer.records if r[0] == lane.settings.accounts_topic]
    assert told
    # every failing try until the tracker has it disabled tells the same event, applied once
    events = [apb.AccountEvent.FromString(cast(bytes, r[1])) for r in told]
    assert {(e.event_id, e.account_id) for e in events} == {(events[0].event_id, lane.account_id)}
    disabled = events[0].endpoint_disabled
    assert disabled.endpoint_id == endpoint_id
    assert disabled.reason == f"failing for {days:g} days in a row"
    # the team's emails went to the notifications topic before the event, and each repeat
    # made the same ones: one per member with an email address
    records = lane.producer.records
    first_event = next(i for i, r in enumerate(records) if r[0] == lane.settings.accounts_topic)
    assert {j.notification_id for j in team_notices(lane, records[:first_event])} == {
        j.notification_id for j in team_notices(lane)
    }
    notices = team_notices(lane)
    assert {(j.address, j.locale) for j in notices} == {
        ("ana@acme.example", "en"),
        ("ivan@acme.example", "ru"),
    }
    assert len({j.notification_id for j in notices}) == 2
    alert = notices[0].endpoint_alert
    assert (alert.endpoint_id, alert.account_name) == (endpoint_id, "Acme")
    assert alert.url == f"http://127.0.0.1:{lane.port}/{endpoint_id}"
    assert alert.failing_since.ToMilliseconds() == almost - 120_000
    # a notifier takes them all, repeats included, and each member gets one email, over
    # SMTP, in the member's language
    await send_by_mail(lane, mail, notices)
    got = {m.rcpt_tos: m for m in mail.messages}
    assert sorted(got) == [("ana@acme.example",), ("ivan@acme.example",)]
    assert len(mail.messages) == 2
    ana, ivan = got[("ana@acme.example",)], got[("ivan@acme.example",)]
    assert ana.subject == f"Webhook endpoint disabled: {alert.url}"
    assert ivan.subject == f"Вебхук-эндпоинт отключён: {alert.url}"
    for received, reason in (
        (ana, f"Why: Every delivery failed for {days:g} days in a row"),
        (ivan, f"Причина: Все доставки не удавались {days:g} дней подряд"),  # noqa: RUF001
    ):
        assert endpoint_id in str(received.text)
        assert reason in str(received.text)


def team_notices(
    lane: Lane, records: Sequence[tuple[str, bytes | None, bytes | None]] | None = None
) -> list[npb.NotificationJob]:
    """The team's emails the notifier appended to the notifications topic."""
    found = []
    for topic, value, _ in lane.producer.records if records is None else records:
        if topic != lane.settings.notifications_topic:
            continue
        job = npb.NotificationJob.FromString(cast(bytes, value))
        if job.kind == ENDPOINT_DISABLED:
            found.append(job)
    return found


async def send_by_mail(
    lane: Lane, mail: MailSandbox, notices: Sequence[npb.NotificationJob]
) -> None:
    """Takes the jobs into a notifier whose email goes to the mail sandbox, as any notifier
    of the notifications topic would, until each of them is final."""
    settings = lane.settings.model_copy(update={"smtp_host": mail.host, "smtp_port": mail.port})
    email = SmtpEmail(settings)
    notifier = Notifier(
        settings,
        book=lane.book,
        senders=[email],
        producer=lane.producer,
        throttle=AnyoneMayBeAsked(),
        webhooks=lane.store,
    )
    try:
        records = [SimpleNamespace(value=j.SerializeToString()) for j in notices]
        await notifier.take(cast(list[ConsumerRecord], records))
        assert {await final_state(lane, j) for j in notices} == {"sent"}
        await notifier.drain(5.0)
    finally:
        await email.close()


async def test_a_success_clears_the_failing_streak(lane: Lane) -> None:
    receiver = Receiver([a_secret()], answers=[(500, None)])
    endpoint_id = await lane.endpoint("flaky", receiver)
    (job,) = await lane.send(endpoint_id)
    assert await final_state(lane, job) == "sent"
    health = cast(
        dict[bytes, bytes], await lane.redis.hgetall(keys.endpoint_health_key(endpoint_id))
    )
    assert b"failing_since" not in health
    assert int(health[b"last_ok"]) > 0


async def test_a_message_made_again_with_other_bytes_goes_as_it_first_came(lane: Lane) -> None:
    """A redelivered event re-planned once its shipment moved on names a later version: the
    same webhook-id must still carry the bytes it first had, on every try and in a replay."""
    receiver = Receiver([a_secret()], answers=[(500, None)])
    endpoint_id = await lane.endpoint("ok", receiver)
    (first,) = await lane.plan(endpoint_id)
    again = npb.NotificationJob()
    again.CopyFrom(first)
    again.webhook.payload = first.webhook.payload.replace(b'"version":1', b'"version":9')
    assert again.webhook.payload != first.webhook.payload
    replay = npb.NotificationJob()
    replay.CopyFrom(again)
    replay.notification_id = wh.replay_notification_id(first.notification_id, str(uuid.uuid4()))
    await lane.take([first])
    await lane.take([again])
    assert await final_state(lane, first) == "sent"
    await lane.take([replay])
    assert await final_state(lane, replay) == "sent"
    assert [r.body for r in receiver.received] == [first.webhook.payload] * 3
    assert {r.headers["webhook-id"] for r in receiver.received} == {first.webhook.message_id}
