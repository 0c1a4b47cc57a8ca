"""The local stack's outbox: every SMS, email and push message the sandboxes received, newest
first, as a page a developer keeps open (GET /outbox) and as JSON (GET /outbox.json). An SMS
can be answered as its recipient would (the SMS sandbox posts the reply, signed, to hooks'
inbound webhook: a survey's score, STOP), and an email read whole, its links to follow
(a survey's score links)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from html import escape
from typing import Any

from aiohttp import web

from shipnotify.devstack.mail_sandbox import MailSandbox, ReceivedMail
from shipnotify.devstack.push_sandbox import PushMessage, PushSandbox
from shipnotify.devstack.sms_sandbox import DEFAULT_FROM, SmsMessage, SmsSandbox

_REFRESH_S = 3
_NO_STORE = {"Cache-Control": "no-store"}


def install(
    app: web.Application,
    sms: SmsSandbox,
    mail: MailSandbox,
    push: PushSandbox,
    *,
    inbound_url: str = "",
) -> None:
    """`inbound_url`: hooks' inbound-SMS webhook, where replies go (none: no replying)."""

    async def page(request: web.Request) -> web.Response:
        html = render(
            _newest_sms(sms), _newest_mail(mail), _newest_push(push), replies=bool(inbound_url)
        )
        return web.Response(text=html, content_type="text/html", charset="utf-8", headers=_NO_STORE)

    async def as_json(request: web.Request) -> web.Response:
        body = {
            "sms": [_sms_json(m) for m in _newest_sms(sms)],
            "email": [_mail_json(m) for m in _newest_mail(mail)],
            "push": [m.to_json() for m in _newest_push(push)],
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


def render(
    sms: list[SmsMessage],
    mail: list[ReceivedMail],
    push: list[PushMessage],
    *,
    replies: bool = False,
) -> str:
    """The outbox page; every value from a message is escaped."""
    sms_rows = [
        _row(
            _time(m.created_at),
            m.to,
            m.body,
            _sms_status(m),
            pre={2},
            link=(f"/outbox/sms/{m.sid}/reply", "Reply") if replies else None,
        )
        for m in sms
    ]
    mail_rows = [
        _row(
            _time(m.received_at),
            ", ".join(m.rcpt_tos),
            m.subject,
            m.excerpt(),
            link=(f"/outbox/mail/{n}", "Read"),
        )
        for n, m in enumerate(mail)
    ]
    push_rows = [
        _row(_time(m.received_at), m.endpoint, _payload(m), _delivery(m), pre={2}) for m in push
    ]
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="{_REFRESH_S}">
<title>shipnotify outbox</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 2em; }}
th, td {{ text-align: left; vertical-align: top; padding: .3em .6em;
  border-bottom: 1px solid #ddd; }}
td.pre {{ white-space: pre-wrap; }}
.empty {{ color: #888; }}
</style>
</head>
<body>
<h1>Outbox</h1>
<p>Everything the local stack sent, newest first (times in UTC; refreshes every
{_REFRESH_S} s; also as <a href="/outbox.json">JSON</a>).</p>
<h2>SMS ({len(sms)})</h2>
{_table(("Time", "To", "Body", "Status", *(("",) if replies else ())), sms_rows)}
<h2>Email ({len(mail)})</h2>
{_table(("Time", "To", "Subject", "Text", ""), mail_rows)}
<h2>Push ({len(push)})</h2>
{_table(("Time", "Endpoint", "Payload (decrypted)", "Delivery"), push_rows)}
</body>
</html>
"""


def _table(headings: tuple[str, ...], rows: list[str]) -> str:
    if not rows:
        return '<p class="empty">None yet.</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headings)
    return f"<table>\n<tr>{head}</tr>\n" + "\n".join(rows) + "\n</table>"


def _row(*cells: str, pre: set[int] | None = None, link: tuple[str, str] | None = None) -> str:
    """One table row; the cells numbered in `pre` keep their line breaks; `link`: a last
    cell with a link (its href, its text)."""
    tds = [
        f'<td class="pre">{escape(c)}</td>' if i in (pre or set()) else f"<td>{escape(c)}</td>"
        for i, c in enumerate(cells)
    ]
    if link:
        tds.append(f'<td><a href="{escape(link[0])}">{escape(link[1])}</a></td>')
    return "<tr>" + "".join(tds) + "</tr>"


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
