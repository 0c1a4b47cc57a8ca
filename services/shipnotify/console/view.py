"""What every console page shares: the language (`?lang=`, else the browser's), links that
keep it, the templates (templates/, Jinja2, autoescaped, the catalogs' `console.*` texts),
the cookies' attributes, the stylesheet by a versioned name, and who is signed in."""

from __future__ import annotations

import hashlib
from importlib.resources import files
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from babel.dates import get_day_names

from shipnotify.console.resources import SESSIONS
from shipnotify.console.sessions import COOKIE, Viewer
from shipnotify.i18n import LANGUAGES, mark, negotiate, text
from shipnotify.web import pages

_CSS = files("shipnotify.console").joinpath("static", "console.css").read_bytes()
STYLESHEET = f"console.{hashlib.sha256(_CSS).hexdigest()[:12]}.css"  # a new name a version
STATIC_PATH = "/console/static/{name}"
PERCENT_TEXTS = (mark("console.interval"), mark("console.below_rule"), mark("console.more_rows"))
POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';"
    " base-uri 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Cache-Control": "no-store",  # a signed-in page: kept by nobody
    "Content-Security-Policy": POLICY,
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def language(request: web.Request) -> str:
    lang = request.query.get("lang", "")
    return lang if lang in LANGUAGES else negotiate(request.headers.get("Accept-Language"))


def link(path: str, lang: str, **query: str) -> str:
    kept = {k: v for k, v in query.items() if v}
    return f"{path}?{urlencode({'lang': lang, **kept})}"


def render(request: web.Request, template: str, lang: str, **context: Any) -> web.Response:
    env = pages.environment("shipnotify.console", lang)
    # a form's answer (a POST's page) switches to the page the form is on
    here = context.pop("here", None)
    kept = {} if here else _kept(request)
    switch = {code: link(here or request.path, code, **kept) for code in LANGUAGES}
    frame: dict[str, Any] = {
        "viewer": None,
        "sections": [],
        "section": "",
        "sign_out": "",
        "overdue": 0,
    }
    # texts with a "%" of their own: a template's _() would take it for a placeholder
    frame["words"] = {name: text(lang, f"console.{name}") for name in ("interval", "below_rule")}
    frame["more"] = text(lang, "console.more_rows")  # "{shown}" and "{total}" in it
    html = env.get_template(template).render(
        stylesheet=f"/console/static/{STYLESHEET}", switch=switch, **{**frame, **context}
    )
    return web.Response(text=html, content_type="text/html", headers=_HEADERS)


async def warm(app: web.Application) -> None:
    """At start, every template compiled and each language's calendar names loaded, which a
    first request would otherwise wait for (some 100 ms: a year's satisfaction page after a
    start took half again as long as later ones)."""
    for lang in LANGUAGES:
        env = pages.environment("shipnotify.console", lang)
        for name in env.list_templates(extensions=["html"]):
            env.get_template(name)
        get_day_names("wide", locale=lang)


def _kept(request: web.Request) -> dict[str, str]:
    return {k: v for k, v in request.query.items() if k != "lang"}


def see_other(location: str) -> web.Response:
    """A 303 to `location`, which the handler may give cookies before returning it."""
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


def set_cookie(
    response: web.StreamResponse, request: web.Request, name: str, value: str, max_age: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/console",
        httponly=True,
        samesite="Strict",
        secure=request.secure or None,  # over https (outside the local stack) only
    )


async def viewer(request: web.Request) -> Viewer:
    """Who is signed in; a browser that is not is sent to the sign-in page."""
    found = await request.app[SESSIONS].find(request.cookies.get(COOKIE))
    if found is None:
        raise web.HTTPSeeOther(link("/console/sign-in", language(request)))
    return found


async def stylesheet(request: web.Request) -> web.Response:
    if request.match_info["name"] != STYLESHEET:
        raise web.HTTPNotFound()
    return web.Response(
        body=_CSS,
        content_type="text/css",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )
