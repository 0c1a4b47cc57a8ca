"""Team members of a business customer's account sign in by a link emailed to them: they give
the account's id and their address; if the address is on the account's team (as the tracker
keeps it: store/accounts.py), a one-time link valid for 15 minutes goes to it by SMTP. The
answer is the same either way, so the form tells nobody who is on a team. The link opens a
page whose button (a POST: mail scanners open links) uses it up and begins the session.

The link's base is SHIPNOTIFY_CONSOLE_URL (else SHIPNOTIFY_PUBLIC_URL), never the request's
Host, which a caller chooses."""

from __future__ import annotations

import hashlib
import re
import secrets
from email.message import EmailMessage

import aiosmtplib
from aiohttp import web

from shipnotify import logs
from shipnotify.config import Settings
from shipnotify.console import forms, view
from shipnotify.console.resources import REDIS, SETTINGS
from shipnotify.console.sessions import Viewer
from shipnotify.console.sign_in import begin
from shipnotify.i18n import language_for, mark, text
from shipnotify.store import accounts
from shipnotify.store.keys import console_link_key
from shipnotify.store.replies import text as reply_text
from shipnotify.web import parse_form

log = logs.get(__name__)

ASK_PATH = forms.ASK
LINK_PATH = forms.ASK + "/{token}"
LINK_S = 15 * 60
_MAIL = (mark("console.link.subject"), mark("console.link.body"))
_ACCOUNT = re.compile(r"[A-Za-z0-9_-]{1,64}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}")


async def ask(request: web.Request) -> web.Response:
    """The team member's request for a link: the same answer whether or not one is sent."""
    posted = await parse_form(request)
    lang = view.language(request)
    if not forms.checked(request, posted):
        return forms.page(request, "sign_in.html", error=mark("console.form_expired"), status=403)
    account, email = posted.get("account", "").strip(), posted.get("email", "").strip()
    if not _ACCOUNT.fullmatch(account) or not _EMAIL.fullmatch(email):
        return forms.page(request, "sign_in.html", error=mark("console.link.bad"), status=422)
    member = next(
        (
            m
            for m in await accounts.team(request.app[REDIS], account)
            if m.email.lower() == email.lower()
        ),
        None,
    )
    if member is not None:
        token = secrets.token_urlsafe(32)
        key = console_link_key(_digest(token))
        pipe = request.app[REDIS].pipeline(transaction=True)  # one key
        pipe.hset(key, mapping={"account": account, "name": member.name or member.email})
        pipe.expire(key, LINK_S)
        await pipe.execute()
        said = language_for(member.locale) if member.locale else lang
        await _send(request.app[SETTINGS], member.email, account, token, said)
        log.info("console link sent", account=account)
    return forms.page(request, "link_sent.html")


async def opened(request: web.Request) -> web.Response:
    """The link's page: a button to use it up (a GET uses nothing)."""
    token = request.match_info["token"]
    found = await request.app[REDIS].exists(console_link_key(_digest(token)))
    if not found:
        return forms.page(request, "link_gone.html", status=410)
    use_it = view.link(f"{ASK_PATH}/{token}", view.language(request))
    return forms.page(request, "link.html", use=use_it)


async def use(request: web.Request) -> web.Response:
    posted = await parse_form(request)
    if not forms.checked(request, posted):
        return forms.page(request, "link_gone.html", status=403)
    token = request.match_info["token"]
    found = await request.app[REDIS].hgetall(console_link_key(_digest(token)))
    deleted = await request.app[REDIS].delete(console_link_key(_digest(token)))
    if not found or not deleted:  # gone, or used by another request just now
        return forms.page(request, "link_gone.html", status=410)
    got = {reply_text(k): reply_text(v) for k, v in found.items()}
    return await begin(request, Viewer(got["name"], got["account"]))


async def _send(settings: Settings, to: str, account: str, token: str, lang: str) -> None:
    base = (settings.console_url or settings.public_url).rstrip("/")
    link = f"{base}{ASK_PATH}/{token}?lang={lang}"
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = text(lang, "console.link.subject")
    message.set_content(
        text(lang, "console.link.body").replace("{account}", account).replace("{link}", link)
    )
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
            start_tls=settings.smtp_starttls,
            timeout=10,
        )
    except (aiosmtplib.SMTPException, OSError) as e:
        log.warning("console link not sent", error=str(e))  # the member asks again


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
