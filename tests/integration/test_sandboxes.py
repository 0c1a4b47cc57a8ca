"""The SMS and mail sandboxes, driven by the real provider library and the real SMTP client."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import aiohttp
import aiosmtplib
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from shipnotify.devstack import outbox
from shipnotify.devstack.mail_sandbox import MailSandbox
from shipnotify.devstack.processes import free_port
from shipnotify.devstack.push_sandbox import PushSandbox
from shipnotify.devstack.sms_sandbox import (
    INVALID_NUMBER,
    OPTED_OUT_NUMBER,
    UNDELIVERABLE_NUMBER,
    SmsSandbox,
)
from shipnotify.devstack.webhook_sandbox import WebhookSandbox

pytestmark = pytest.mark.redis_agnostic  # its outcome does not depend on Redis: run once

ACCOUNT = "AC" + "5a" * 16
TOKEN = "sandbox-auth-token"
SENDER = "+15005550006"
RECIPIENT = "+40721234567"
SERVICE = "MG" + "7c" * 16


class FakeClock:
    """The sandboxes' clock, moved by the test: fault windows end without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Webhook:
    """Our side of the provider's webhooks, on loopback: records each post and its signature."""

    base_url: str
    posts: list[dict[str, str]] = field(default_factory=list)
    signatures_valid: list[bool] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def statuses(self) -> list[str]:
        return [p["MessageStatus"] for p in self.posts if "MessageStatus" in p]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sms(clock: FakeClock) -> AsyncIterator[SmsSandbox]:
    sandbox = SmsSandbox(ACCOUNT, TOKEN, callback_delay_s=0.005, clock=clock)
    async with sandbox.running() as running:
        yield running


def provider_client(sms: SmsSandbox, token: str = TOKEN) -> Any:
    """The real client, pointed at the sandbox as the notifier will point it."""
    client = Client(ACCOUNT, token, http_client=AsyncTwilioHttpClient(timeout=5))
    client.api.base_url = sms.base_url
    return client


@pytest.fixture
async def twilio(sms: SmsSandbox, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    # Either would make the client rewrite the sandbox's host name into a provider one.
    monkeypatch.delenv("TWILIO_EDGE", raising=False)
    monkeypatch.delenv("TWILIO_REGION", raising=False)
    client = provider_client(sms)
    yield client
    await client.http_client.close()


@pytest.fixture
async def webhook() -> AsyncIterator[Webhook]:
    validator = RequestValidator(TOKEN)
    app = web.Application()
    server = TestServer(app, host="127.0.0.1")
    hook: Webhook | None = None

    async def receive(request: web.Request) -> web.Response:
        assert hook is not None
        params = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        signature = request.headers.get("X-Twilio-Signature", "")
        hook.signatures_valid.append(bool(validator.validate(str(request.url), params, signature)))
        hook.posts.append(params)
        if request.path == "/sms":
            return web.Response(text="<Response/>", content_type="application/xml")
        return web.Response(text="")

    app.router.add_post("/status", receive)
    app.router.add_post("/sms", receive)
    await server.start_server()
    hook = Webhook(str(server.make_url("")).rstrip("/"))
    yield hook
    await server.close()


@pytest.fixture
def mail(clock: FakeClock) -> Iterator[MailSandbox]:
    with MailSandbox(clock=clock) as sandbox:
        yield sandbox


async def send_sms(client: Any, to: str = RECIPIENT, **extra: Any) -> Any:
    kwargs = {"from_": SENDER, "body": "Your parcel is out for delivery.", **extra}
    return await client.messages.create_async(to=to, **kwargs)


# -- SMS


async def test_sms_is_created_and_reported_sent_then_delivered(
    sms: SmsSandbox, twilio: Any, webhook: Webhook
) -> None:
    msg = await send_sms(twilio, status_callback=webhook.url("/status"))

    assert twilio.http_client._test_only_last_response.status_code == 201
    assert re.fullmatch(r"SM[0-9a-f]{32}", msg.sid)
    assert (msg.account_sid, msg.to, msg.from_, msg.status) == (
        ACCOUNT,
        RECIPIENT,
        SENDER,
        "queued",
    )
    assert msg.date_created is not None
    assert msg.error_code is None
    await sms.settled()
    assert webhook.statuses() == ["sent", "delivered"]
    assert all(webhook.signatures_valid)
    first = webhook.posts[0]
    assert (first["MessageSid"], first["SmsSid"], first["AccountSid"]) == (msg.sid,) * 2 + (
        ACCOUNT,
    )
    assert (first["From"], first["To"]) == (SENDER, RECIPIENT)
    [recorded] = sms.messages
    assert (recorded.sid, recorded.body, recorded.status) == (msg.sid, msg.body, "delivered")
    assert [c.status for c in recorded.history] == ["queued", "sent", "delivered"]


async def test_magic_number_ends_undelivered(
    sms: SmsSandbox, twilio: Any, webhook: Webhook
) -> None:
    await send_sms(twilio, UNDELIVERABLE_NUMBER, status_callback=webhook.url("/status"))

    await sms.settled()
    assert webhook.statuses() == ["sent", "undelivered"]
    assert webhook.posts[-1]["ErrorCode"] == "30003"
    assert "ErrorCode" not in webhook.posts[0]
    assert sms.messages[0].error_code == 30003


async def test_messaging_service_is_accepted(sms: SmsSandbox, twilio: Any) -> None:
    msg = await twilio.messages.create_async(
        to=RECIPIENT, messaging_service_sid=SERVICE, body="Coletul tău a fost livrat."
    )

    assert (msg.status, msg.from_, msg.messaging_service_sid) == ("accepted", None, SERVICE)
    await sms.settled()
    assert sms.messages[0].from_ == SENDER


@pytest.mark.parametrize(
    ("to", "code"),
    [(INVALID_NUMBER, 21211), ("0721234567", 21211), (OPTED_OUT_NUMBER, 21610)],
)
async def test_refused_numbers(sms: SmsSandbox, twilio: Any, to: str, code: int) -> None:
    with pytest.raises(TwilioRestException) as e:
        await send_sms(twilio, to)

    assert (e.value.status, e.value.code) == (400, code)
    assert sms.messages == []


async def test_opted_out_recipient_is_refused_until_opted_in(sms: SmsSandbox, twilio: Any) -> None:
    sms.opt_out(RECIPIENT)
    with pytest.raises(TwilioRestException) as e:
        await send_sms(twilio)
    assert e.value.code == 21610

    sms.opt_in(RECIPIENT)
    await send_sms(twilio)


async def test_outage_fails_with_500_until_it_ends(
    sms: SmsSandbox, twilio: Any, clock: FakeClock
) -> None:
    sms.fail_for(30)

    for _ in range(2):
        with pytest.raises(TwilioRestException) as e:
            await send_sms(twilio)
        assert (e.value.status, e.value.code) == (500, 20500)
        clock.advance(20)
    await send_sms(twilio)
    assert len(sms.messages) == 1


async def test_rate_limit(sms: SmsSandbox, twilio: Any) -> None:
    sms.fail_next(1, status=429)

    with pytest.raises(TwilioRestException) as e:
        await send_sms(twilio)
    assert (e.value.status, e.value.code) == (429, 20429)
    await send_sms(twilio)  # only the next one


async def test_wrong_auth_token_is_401(sms: SmsSandbox) -> None:
    client = provider_client(sms, token="not-the-token")
    try:
        with pytest.raises(TwilioRestException) as e:
            await send_sms(client)
    finally:
        await client.http_client.close()

    assert (e.value.status, e.value.code) == (401, 20003)


async def test_faults_and_messages_over_http(sms: SmsSandbox, twilio: Any) -> None:
    async with aiohttp.ClientSession(sms.base_url) as http:
        resp = await http.post("/_sandbox/faults", json={"status": 503, "seconds": 30})
        assert resp.status == 200
        with pytest.raises(TwilioRestException) as e:
            await send_sms(twilio)
        assert e.value.status == 503
        assert (await http.delete("/_sandbox/faults")).status == 200
        msg = await send_sms(twilio)
        listed = await (await http.get("/_sandbox/messages.json")).json()
        assert (await http.post("/_sandbox/faults", json={"status": 200})).status == 400

    assert [m["sid"] for m in listed["messages"]] == [msg.sid]


async def test_callback_failures_do_not_stop_delivery(sms: SmsSandbox, twilio: Any) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/status"

    await send_sms(twilio, status_callback=nobody)

    await sms.settled()
    assert sms.messages[0].status == "delivered"


async def test_shutdown_cancels_pending_callbacks(webhook: Webhook) -> None:
    sandbox = SmsSandbox(ACCOUNT, TOKEN, callback_delay_s=60)
    async with sandbox.running():
        client = provider_client(sandbox)
        await send_sms(client, status_callback=webhook.url("/status"))
        await client.http_client.close()

    assert webhook.posts == []  # and no task left behind: warnings fail the test


async def test_inbound_sms_is_signed_and_stop_opts_out(
    sms: SmsSandbox, twilio: Any, webhook: Webhook
) -> None:
    status, text = await sms.send_inbound(webhook.url("/sms"), RECIPIENT, SENDER, "STOP")

    assert (status, text) == (200, "<Response/>")
    assert webhook.signatures_valid == [True]
    post = webhook.posts[0]
    assert (post["From"], post["To"], post["Body"], post["AccountSid"]) == (
        RECIPIENT,
        SENDER,
        "STOP",
        ACCOUNT,
    )
    assert re.fullmatch(r"SM[0-9a-f]{32}", post["MessageSid"])
    with pytest.raises(TwilioRestException) as e:
        await send_sms(twilio)
    assert e.value.code == 21610

    await sms.send_inbound(webhook.url("/sms"), RECIPIENT, SENDER, " start ")
    await send_sms(twilio)


# -- mail


def notification(subject: str = "Coletul tău a fost livrat \u2705") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "shipnotify <notify@shipnotify.test>"
    msg["To"] = "ion@example.com"
    msg["Subject"] = subject
    msg.set_content("Bună ziua, coletul tău a ajuns.\n")
    msg.add_alternative("<p>Bună ziua, coletul <b>tău</b> a ajuns.</p>\n", subtype="html")
    return msg


async def send_mail(mail: MailSandbox, msg: EmailMessage | None = None) -> None:
    await aiosmtplib.send(msg or notification(), hostname=mail.host, port=mail.port, timeout=5)


async def test_mail_is_received_decoded(mail: MailSandbox) -> None:
    msg = notification()
    msg["Message-ID"] = "<n-1.s-1@shipnotify.test>"
    await send_mail(mail, msg)

    [received] = mail.messages
    assert received.subject == "Coletul tău a fost livrat \u2705"
    assert received.mail_from == "notify@shipnotify.test"
    assert received.rcpt_tos == ("ion@example.com",)
    assert received.message.is_multipart()
    assert received.text == "Bună ziua, coletul tău a ajuns.\n"
    assert received.html is not None
    assert "<b>tău</b>" in received.html
    assert received.excerpt() == "Bună ziua, coletul tău a ajuns."
    assert received.message_id == "<n-1.s-1@shipnotify.test>"  # read from the headers alone


async def test_mail_outage_is_transient_until_it_ends(mail: MailSandbox, clock: FakeClock) -> None:
    mail.fail_for(30)

    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as e:
        await send_mail(mail)
    assert [r.code for r in e.value.recipients] == [451]
    clock.advance(31)
    await send_mail(mail)
    assert len(mail.messages) == 1


async def test_mail_rejects_next_recipient(mail: MailSandbox) -> None:
    mail.reject_next(1, code=550)

    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as e:
        await send_mail(mail)
    assert [r.code for r in e.value.recipients] == [550]
    await send_mail(mail)


async def test_stopped_relay_refuses_connections(mail: MailSandbox) -> None:
    port = mail.port
    mail.stop()

    with pytest.raises(aiosmtplib.SMTPConnectError):
        await send_mail(mail)
    mail.start()
    assert mail.port == port
    await send_mail(mail)
    assert len(mail.messages) == 1


# -- outbox


async def test_outbox_lists_sms_and_email_newest_first(
    sms: SmsSandbox, twilio: Any, mail: MailSandbox
) -> None:
    await send_sms(twilio, body="Out for delivery")
    await send_sms(twilio, body="Delivered <b>")
    await send_mail(mail, notification("<script>alert(1)</script> livrat"))
    app = web.Application()
    outbox.install(app, sms, mail, PushSandbox(), WebhookSandbox())  # pushes: test_push_sandbox.py

    async with TestClient(TestServer(app)) as client:
        listed = await (await client.get("/outbox.json")).json()
        page = await client.get("/outbox")
        html = await page.text()

    assert [m["body"] for m in listed["sms"]] == ["Delivered <b>", "Out for delivery"]
    assert listed["email"][0]["subject"] == "<script>alert(1)</script> livrat"
    assert listed["email"][0]["to"] == ["ion@example.com"]
    assert page.content_type == "text/html"
    assert page.charset == "utf-8"
    assert "&lt;script&gt;alert(1)&lt;/script&gt; livrat" in html
    assert "<script>" not in html
    assert html.index("Delivered &lt;b&gt;") < html.index("Out for delivery")
    assert "Bună ziua" in html


async def test_an_sms_is_answered_from_the_outbox_as_its_recipient(
    sms: SmsSandbox, twilio: Any, mail: MailSandbox, webhook: Webhook
) -> None:
    await send_sms(twilio, body="How was your delivery? Reply 1 to 5")
    [sent] = sms.messages
    app = web.Application()
    outbox.install(app, sms, mail, PushSandbox(), WebhookSandbox(), inbound_url=webhook.url("/sms"))

    async with TestClient(TestServer(app)) as client:
        html = await (await client.get("/outbox")).text()
        assert f'href="/outbox/sms/{sent.sid}/reply"' in html
        form = await client.get(f"/outbox/sms/{sent.sid}/reply")
        assert "How was your delivery? Reply 1 to 5" in await form.text()
        answered = await client.post(
            f"/outbox/sms/{sent.sid}/reply", data={"body": "4 thanks"}, allow_redirects=False
        )
        assert (answered.status, answered.headers["Location"]) == (303, "/outbox")
        other_site = await client.post(
            f"/outbox/sms/{sent.sid}/reply",
            data={"body": "1"},
            headers={"Origin": "https://elsewhere.example"},
        )
        assert other_site.status == 403
        empty = await client.post(f"/outbox/sms/{sent.sid}/reply", data={"body": " "})
        assert empty.status == 400
        assert (await client.get("/outbox/sms/SMnone/reply")).status == 404

    assert webhook.signatures_valid == [True]  # one reply reached hooks, signed
    post = webhook.posts[0]
    assert (post["From"], post["To"], post["Body"]) == (RECIPIENT, SENDER, "4 thanks")


async def test_an_email_is_read_whole_with_its_links_to_follow(mail: MailSandbox) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "n@shipnotify.test", "ion@example.com", "Survey"
    msg.set_content(
        "Tap a score:\n1 https://hooks.test/s/tok?score=1\n5 https://hooks.test/s/tok?score=5\n<b>"
    )
    await send_mail(mail, msg)
    app = web.Application()
    outbox.install(
        app, SmsSandbox("AC" + "00" * 16, "token"), mail, PushSandbox(), WebhookSandbox()
    )

    async with TestClient(TestServer(app)) as client:
        assert 'href="/outbox/mail/0"' in await (await client.get("/outbox")).text()
        html = await (await client.get("/outbox/mail/0")).text()
        assert (await client.get("/outbox/mail/1")).status == 404
        assert "/reply" not in await (await client.get("/outbox")).text()  # no webhook given

    for score in (1, 5):
        url = f"https://hooks.test/s/tok?score={score}"
        assert f'<a href="{url}">{url}</a>' in html
    assert "&lt;b&gt;" in html
