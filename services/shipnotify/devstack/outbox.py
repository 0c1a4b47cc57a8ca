"""The local stack's outbox: every SMS, email and push message the sandboxes received, and
every webhook request the webhook sandbox took (verified or not), newest first, as a page a
developer keeps open (GET /outbox, in en, ru or ro: `?lang=`, else Accept-Language; the
template is templates/outbox.html) and as JSON (GET /outbox.json). An SMS
can be answered as its recipient would (the SMS sandbox posts the reply, signed, to hooks'
inbound webhook: a survey's score, STOP), and an email read whole, its links to follow
(a survey's score links)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from aiohttp import web

from shipnotify import i18n
from shipnotify.devstack.mail_sandbox import MailSandbox, ReceivedMail
from shipnotify.devstack.push_sandbox import PushMessage, PushSandbox
from shipnotify.devstack.sms_sandbox import DEFAULT_FROM, SmsMessage, SmsSandbox
from shipnotify.devstack.webhook_sandbox import ReceivedWebhook, WebhookSandbox
from shipnotify.i18n import mark
from shipnotify.web import pages

_REFRESH_S = 3
_NO_STORE = {"Cache-Control": "no-store"}


def install(
    app: web.Application,
    sms: SmsSandbox,
    mail: MailSandbox,
    push: PushSandbox,
    webhooks: WebhookSandbox,
    *,
    inbound_url: str = "",
) -> None:
    """`inbound_url`: hooks' inbound-SMS webhook, where replies go (none: no replying)."""

    async def page(request: web.Request) -> web.Response:
        html = render(
            _newest_sms(sms),
            _newest_mail(mail),
            _newest_push(push),
            _newest_webhooks(webhooks),
            replies=bool(inbound_url),
            lang=_language(request),
        )
        return web.Response(text=html, content_type="text/html", charset="utf-8", headers=_NO_STORE)

    async def as_json(request: web.Request) -> web.Response:
        body = {
            "sms": [_sms_json(m) for m in _newest_sms(sms)],
            "email": [_mail_json(m) for m in _newest_mail(mail)],
            "push": [m.to_json() for m in _newest_push(push)],
            "webhooks": [m.to_json() for m in _newest_webhooks(webhooks)],
        }
        return web.json_response(body, headers=_NO_STORE)

    async def reply_form(request: web.Request) -> web.Response:
        message = _sms_of(sms, request)
        return _html(_reply_page(message))

    async def reply(request: web.Request) -> web.Response:
        message = _sms_of(sms, request)
        origin = request.headers.get("Origin")
        if origin is not None and origin != str(request.url.origin()):
            raise web.HTTPForbidden(text="replies come from the outbox page only")
        body = str((await request.post()).get("body", "")).strip()
        if not body:
            raise web.HTTPBadRequest(text="body: write the reply")
        ours = message.from_ or DEFAULT_FROM  # a Messaging Service's: its default number
        await sms.send_inbound(inbound_url, from_=message.to, to=ours, body=body)
        raise web.HTTPSeeOther("/outbox")

    async def mail_page(request: web.Request) -> web.Response:
        newest = _newest_mail(mail)
        n = int(request.match_info["n"])
        if not 0 <= n < len(newest):
            raise web.HTTPNotFound(text="no such email (the outbox counts from the newest)")
        return _html(_mail_page(newest[n]))

    app.router.add_get("/outbox", page)
    app.router.add_get("/outbox.json", as_json)
    app.router.add_get("/outbox/mail/{n:\\d+}", mail_page)
    if inbound_url:
        app.router.add_get("/outbox/sms/{sid}/reply", reply_form)
        app.router.add_post("/outbox/sms/{sid}/reply", reply)


def _html(text: str) -> web.Response:
    return web.Response(text=text, content_type="text/html", charset="utf-8", headers=_NO_STORE)


def _sms_of(sms: SmsSandbox, request: web.Request) -> SmsMessage:
    sid = request.match_info["sid"]
    found = next((m for m in sms.messages if m.sid == sid), None)
    if found is None:
        raise web.HTTPNotFound(text=f"no SMS {sid} in the sandbox")
    return found


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 40em; }}
.pre {{ white-space: pre-wrap; }}
textarea {{ width: 100%; font: inherit; }}
button {{ font: inherit; padding: .5em 1.5em; }}
</style>
</head>
<body>
<p><a href="/outbox">Outbox</a></p>
{body}
</body>
</html>
"""


def _reply_page(m: SmsMessage) -> str:
    body = f"""<h1>Reply as {escape(m.to)}</h1>
<p class="pre">{escape(m.body)}</p>
<form method="post">
<p><label for="body">Your reply (a score such as 4, a reason, or STOP)</label></p>
<p><textarea id="body" name="body" rows="3" required></textarea></p>
<p><button type="submit">Send to {escape(m.from_ or DEFAULT_FROM)}</button></p>
</form>"""
    return _PAGE.format(title="Reply to an SMS", body=body)


_LINK = re.compile(r"https?://[^\s<>\"']+")


def _mail_page(m: ReceivedMail) -> str:
    text = m.text if m.text is not None else m.excerpt(10_000)
    linked = _LINK.sub(lambda u: f'<a href="{u[0]}">{u[0]}</a>', escape(text, quote=False))
    body = f"""<h1>{escape(m.subject)}</h1>
<p>To {escape(", ".join(m.rcpt_tos))}, {_time(m.received_at)} UTC</p>
<p class="pre">{linked}</p>"""
    return _PAGE.format(title=escape(m.subject), body=body)


def _newest_sms(sms: SmsSandbox) -> list[SmsMessage]:
    return sorted(sms.messages, key=lambda m: m.created_at, reverse=True)


def _newest_mail(mail: MailSandbox) -> list[ReceivedMail]:
    return sorted(mail.messages, key=lambda m: m.received_at, reverse=True)


def _newest_push(push: PushSandbox) -> list[PushMessage]:
    return sorted(push.messages, key=lambda m: m.received_at, reverse=True)


def _newest_webhooks(webhooks: WebhookSandbox) -> list[ReceivedWebhook]:
    return sorted(webhooks.received, key=lambda m: m.received_at, reverse=True)


def _language(request: web.Request) -> str:
    asked = request.query.get("lang")
    if asked in i18n.LANGUAGES:
        return asked
    return i18n.negotiate(request.headers.get("Accept-Language"))


def _sms_json(m: SmsMessage) -> dict[str, Any]:
    return {
        "sid": m.sid,
        "at": m.created_at.isoformat(),
        "to": m.to,
        "from": m.from_,
        "body": m.body,
        "status": m.status,
        "error_code": m.error_code,
    }


def _mail_json(m: ReceivedMail) -> dict[str, Any]:
    return {
        "at": m.received_at.isoformat(),
        "from": m.mail_from,
        "to": list(m.rcpt_tos),
        "subject": m.subject,
        "excerpt": m.excerpt(),
    }


@dataclass(frozen=True)
class Cell:
    """One cell of the page: `key` a message id said in the reader's language, then
    `text` as it is; `pre` keeps line breaks; `href` makes it a link."""

    text: str = ""
    key: str = ""
    pre: bool = False
    href: str = ""
    refused: bool = False


@dataclass(frozen=True)
class Section:
    id: str
    title: str  # message ids, as the headings
    headings: tuple[str, ...]
    rows: list[list[Cell]]
    about: str = ""


def render(
    sms: list[SmsMessage],
    mail: list[ReceivedMail],
    push: list[PushMessage],
    webhooks: list[ReceivedWebhook],
    *,
    replies: bool = False,
    lang: str = i18n.DEFAULT,
) -> str:
    """The outbox page in `lang` (one of i18n.LANGUAGES); every value is escaped."""
    reply = (mark("outbox.reply_heading"),) if replies else ()
    sections = [
        Section(
            "sms",
            mark("outbox.sms"),
            (
                mark("outbox.time"),
                mark("outbox.to"),
                mark("outbox.body"),
                mark("outbox.status"),
                *reply,
            ),
            [
                [
                    Cell(_time(m.created_at)),
                    Cell(m.to),
                    Cell(m.body, pre=True),
                    Cell(_sms_status(m)),
                    *(
                        [Cell(key=mark("outbox.reply"), href=f"/outbox/sms/{m.sid}/reply")]
                        if replies
                        else []
                    ),
                ]
                for m in sms
            ],
        ),
        Section(
            "email",
            mark("outbox.email"),
            (
                mark("outbox.time"),
                mark("outbox.to"),
                mark("outbox.subject"),
                mark("outbox.text"),
                "",
            ),
            [
                [
                    Cell(_time(m.received_at)),
                    Cell(", ".join(m.rcpt_tos)),
                    Cell(m.subject),
                    Cell(m.excerpt()),
                    Cell(key=mark("outbox.read"), href=f"/outbox/mail/{n}"),
                ]
                for n, m in enumerate(mail)
            ],
        ),
        Section(
            "push",
            mark("outbox.push"),
            (
                mark("outbox.time"),
                mark("outbox.endpoint"),
                mark("outbox.payload"),
                mark("outbox.delivery"),
            ),
            [
                [
                    Cell(_time(m.received_at)),
                    Cell(m.endpoint),
                    Cell(_payload(m), pre=True),
                    Cell(_delivery(m)),
                ]
                for m in push
            ],
        ),
        Section(
            "webhooks",
            mark("outbox.webhooks"),
            (
                mark("outbox.time"),
                mark("outbox.endpoint"),
                mark("outbox.type"),
                mark("outbox.webhook_id"),
                mark("outbox.signature"),
                mark("outbox.shipment"),
                mark("outbox.version"),
                mark("outbox.answer"),
            ),
            [
                [
                    Cell(_time(m.received_at)),
                    Cell(m.endpoint),
                    Cell(m.type),
                    Cell(m.webhook_id),
                    Cell(m.reason, key=mark("outbox.refused"), refused=True)
                    if m.reason
                    else Cell(key=mark("outbox.verified")),
                    Cell(m.shipment_id),
                    Cell("" if m.version is None else str(m.version)),
                    Cell(str(m.answered)) if m.answered else Cell(key=mark("outbox.no_answer")),
                ]
                for m in webhooks
            ],
            about=mark("outbox.webhooks_about"),
        ),
    ]
    page = pages.environment("shipnotify.devstack", lang).get_template("outbox.html")
    return page.render(sections=sections, refresh_s=_REFRESH_S)


def _sms_status(m: SmsMessage) -> str:
    return m.status if m.error_code is None else f"{m.status} ({m.error_code})"


def _payload(m: PushMessage) -> str:
    """JSON indented, so a notice's fields read one a line."""
    if m.payload_json is None:
        return m.payload
    return json.dumps(m.payload_json, indent=2, ensure_ascii=False)


def _delivery(m: PushMessage) -> str:
    parts = [f"TTL {m.ttl} s", f"urgency {m.urgency or 'normal'}"]  # RFC 8030's default
    if m.topic:
        parts.append(f"topic {m.topic}")
    return ", ".join(parts)


def _time(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S")
