"""Signing in and out. The operator signs in with the operator key (SHIPNOTIFY_API_KEYS).
The sign-in form, before any session, carries a token that must match the one in a
SameSite=Strict cookie set with the form (a double submit), so another site cannot sign a
browser in to a session of its choosing; every later form carries its session's token."""

from __future__ import annotations

import hmac
import secrets

from aiohttp import web

from shipnotify import logs
from shipnotify.console import view
from shipnotify.console.resources import SESSIONS, SETTINGS
from shipnotify.console.sessions import COOKIE, Viewer
from shipnotify.i18n import mark
from shipnotify.web import parse_form

log = logs.get(__name__)

PATH, OUT_PATH = "/console/sign-in", "/console/sign-out"
_FORM_COOKIE = "shipnotify_console_form"


async def form(request: web.Request) -> web.Response:
    return _form(request, error="")


async def submit(request: web.Request) -> web.StreamResponse:
    posted = await parse_form(request)
    lang = view.language(request)
    if not _same(posted.get("csrf", ""), request.cookies.get(_FORM_COOKIE, "")):
        return _form(request, error=mark("console.form_expired"), status=403)
    key = posted.get("key", "")
    if not _operator(key, request.app[SETTINGS].api_keys):
        log.info("console sign-in refused", remote=request.remote)
        return _form(request, error=mark("console.wrong_key"), status=401)
    token, _ = await request.app[SESSIONS].begin(Viewer("operator"))
    log.info("console signed in", who="operator")
    done = view.see_other(view.link("/console", lang))
    view.set_cookie(done, request, COOKIE, token, request.app[SETTINGS].console_session_s)
    done.del_cookie(_FORM_COOKIE, path="/console")
    return done


async def sign_out(request: web.Request) -> web.StreamResponse:
    viewer = await view.viewer(request)
    posted = await parse_form(request)
    if not viewer.allows(posted.get("csrf", "")):
        raise web.HTTPForbidden(text="a stale form: sign out again", content_type="text/plain")
    await request.app[SESSIONS].end(request.cookies.get(COOKIE))
    done = view.see_other(view.link(PATH, view.language(request)))
    done.del_cookie(COOKIE, path="/console")
    return done


def _form(request: web.Request, *, error: str, status: int = 200) -> web.Response:
    csrf = secrets.token_urlsafe(32)
    lang = view.language(request)
    page = view.render(
        request,
        "sign_in.html",
        lang,
        csrf=csrf,
        error=error,
        action=view.link(PATH, lang),
    )
    page.set_status(status)
    view.set_cookie(page, request, _FORM_COOKIE, csrf, 3600)
    return page


def _same(posted: str, kept: str) -> bool:
    return bool(posted) and hmac.compare_digest(posted.encode(), kept.encode())


def _operator(key: str, keys: tuple[str, ...]) -> bool:
    ok = False
    for known in keys:  # every key, in constant time
        ok |= hmac.compare_digest(key.encode(), known.encode())
    return ok and bool(key)
