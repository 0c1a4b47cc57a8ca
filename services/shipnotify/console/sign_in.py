"""Signing in and out. The operator signs in with the operator key (SHIPNOTIFY_API_KEYS); a
business customer's team member by an emailed link (links.py). The forms before a session
carry forms.py's token; every later form its session's."""

from __future__ import annotations

import hmac

from aiohttp import web

from shipnotify import logs
from shipnotify.console import forms, view
from shipnotify.console.resources import SESSIONS, SETTINGS
from shipnotify.console.sessions import COOKIE, Viewer
from shipnotify.i18n import mark
from shipnotify.web import parse_form

log = logs.get(__name__)

PATH, OUT_PATH = forms.SIGN_IN, "/console/sign-out"


async def form(request: web.Request) -> web.Response:
    return forms.page(request, "sign_in.html")


async def submit(request: web.Request) -> web.StreamResponse:
    posted = await parse_form(request)
    if not forms.checked(request, posted):
        return forms.page(request, "sign_in.html", error=mark("console.form_expired"), status=403)
    if not _operator(posted.get("key", ""), request.app[SETTINGS].api_keys):
        log.info("console sign-in refused", remote=request.remote)
        return forms.page(request, "sign_in.html", error=mark("console.wrong_key"), status=401)
    return await begin(request, Viewer("operator"))


async def begin(request: web.Request, viewer: Viewer) -> web.Response:
    """A session for `viewer`, and to the overview."""
    token, _ = await request.app[SESSIONS].begin(viewer)
    log.info("console signed in", who="team member" if viewer.account else "operator")
    done = view.see_other(view.link("/console", view.language(request)))
    view.set_cookie(done, request, COOKIE, token, request.app[SETTINGS].console_session_s)
    forms.done(done)
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


def _operator(key: str, keys: tuple[str, ...]) -> bool:
    ok = False
    for known in keys:  # every key, in constant time
        ok |= hmac.compare_digest(key.encode(), known.encode())
    return ok and bool(key)
