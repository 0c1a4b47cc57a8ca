"""The courier app: an installable, offline-first web app served under /courier/.

The shell (`templates/courier.html`, Jinja2, autoescaped) is rendered in the courier's
language (`?lang=`, then the language chosen before, kept in a cookie, then
Accept-Language); everything else is static files under one version (courier_files.py),
which the service worker precaches so that the app opens with no network. The scripts read
their words and settings from the shell's JSON data block: nothing inline runs, and the
policy allows nothing from another origin. The sign-in link carries the courier's token in
the URL's fragment, which the browser keeps to itself: no request for the page, and so no
access log, ever holds it.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from shipnotify import i18n
from shipnotify.i18n import LANGUAGES, mark
from shipnotify.i18n.labels import FAILURE_LABELS, STATUS_LABELS, negotiate
from shipnotify.ingest import courier_files
from shipnotify.web import ApiError, ErrorBody, Route, add_routes, pages

BASE = "/courier/"
SHELL = courier_files.load()  # the app's files as this package has them
FILES = web.AppKey("courier_files", courier_files.Shell)  # the files an app serves
LANG_COOKIE = "courier_lang"
VERSION_HEADER = "Courier-Shell-Version"  # the service worker caches only a shell of its own
THEME = "#0a58a8"
BACKGROUND = "#f6f7f9"
# How often the open app tries the queue when nothing else wakes it.
POLL_MS = 30_000

# Self only, no inline code: the shell's data block is JSON, which is never executed.
POLICY = (
    "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none';"
    " object-src 'none'"
)
_PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

# The words the scripts show (those of the shell itself are in the template).
_SCRIPT_WORDS = (
    mark("courier.state.queued"),
    mark("courier.state.sent"),
    mark("courier.state.refused"),
    mark("courier.refused_because"),
    mark("courier.received_by"),
    mark("courier.not_found"),
    mark("courier.other_courier"),
    mark("courier.open_offline"),
    mark("courier.open_failed"),
    mark("courier.run_as_of"),
    mark("courier.waiting"),
    mark("courier.signed_in_as"),
    mark("courier.camera_failed"),
    mark("courier.call"),
    mark("courier.no_phone"),
    mark("courier.no_address"),
    mark("courier.now"),
    mark("courier.no_status"),
    mark("courier.opened"),
)
_NAME = mark("courier.app_name")
_SHORT_NAME = mark("courier.short_name")
_DESCRIPTION = mark("courier.description")


def _words(lang: str) -> dict[str, str]:
    return {k.removeprefix("courier."): i18n.text(lang, k) for k in _SCRIPT_WORDS}


def config(lang: str, shell: courier_files.Shell = SHELL) -> dict[str, Any]:
    """What app.js reads from the data block."""
    return {
        "lang": lang,
        "worker": shell.url("sw.js"),
        "scope": BASE,
        "pollMs": POLL_MS,
        "words": _words(lang),
        "statuses": {s.value: label for s, label in STATUS_LABELS[lang].items()},
        "failures": {f.value: label for f, label in FAILURE_LABELS[lang].items()},
    }


def render_shell(lang: str, shell: courier_files.Shell = SHELL) -> str:
    template = pages.environment("shipnotify.ingest", lang).get_template("courier.html")
    return template.render(
        config=config(lang, shell),
        static_url=shell.url,
        manifest_url=f"{BASE}manifest.webmanifest?lang={lang}",
        failures=FAILURE_LABELS[lang],
        theme=THEME,
    )


def manifest(lang: str, shell: courier_files.Shell = SHELL) -> dict[str, Any]:
    """The web app manifest: installable, standalone, scoped to the app."""
    icon = shell.url
    return {
        "id": BASE,
        "name": i18n.text(lang, _NAME),
        "short_name": i18n.text(lang, _SHORT_NAME),
        "description": i18n.text(lang, _DESCRIPTION),
        "lang": lang,
        "dir": "ltr",
        "start_url": BASE,
        "scope": BASE,
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": THEME,
        "background_color": BACKGROUND,
        "icons": [
            {"src": icon("icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": icon("icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": icon("icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }


async def courier_redirect(request: web.Request) -> web.Response:
    raise web.HTTPPermanentRedirect(BASE)


async def courier_page(request: web.Request) -> web.Response:
    """The app's one page; a `lang` asked for is kept (a cookie) for the next start."""
    lang = _language(request)
    shell = request.app[FILES]
    response = web.Response(
        text=render_shell(lang, shell),
        content_type="text/html",
        headers={
            **_PAGE_HEADERS,
            "Vary": "Accept-Language, Cookie",
            VERSION_HEADER: shell.version,
        },
    )
    if "lang" in request.query:
        response.set_cookie(
            LANG_COOKIE, lang, path=BASE, max_age=365 * 86400, samesite="Strict", httponly=True
        )
    return response


async def courier_manifest(request: web.Request) -> web.Response:
    return web.Response(
        text=json.dumps(manifest(_language(request), request.app[FILES]), ensure_ascii=False),
        content_type="application/manifest+json",
        headers={**_PAGE_HEADERS, "Vary": "Accept-Language, Cookie"},
    )


async def courier_file(request: web.Request) -> web.Response:
    found = request.app[FILES].get(request.match_info["version"], request.match_info["name"])
    if found is None:
        raise ApiError(404, "not_found", "no file of the app has this name", {"name": "unknown"})
    headers = {"Cache-Control": courier_files.CACHE_CONTROL, "X-Content-Type-Options": "nosniff"}
    if found.name == "sw.js":  # its scope is the app, above the folder it is served from
        headers["Service-Worker-Allowed"] = BASE
    return web.Response(
        body=found.body, content_type=found.content_type, charset=found.charset, headers=headers
    )


_LANG = {
    "name": "lang",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": list(LANGUAGES)},
    "description": "The language (kept for the next visit); by default the one chosen"
    " before, else Accept-Language's best.",
}

ROUTES = [
    Route(
        "GET",
        "/courier",
        courier_redirect,
        "The courier app (redirects to /courier/)",
        {308: ("to /courier/", None)},
        tag="courier app",
    ),
    Route(
        "GET",
        BASE,
        courier_page,
        "The courier app's page: sign in by the link `/courier/#token=<token>`",
        {200: ("the page (HTML)", None), 422: ("unsupported lang", ErrorBody)},
        parameters=[_LANG],
        tag="courier app",
    ),
    Route(
        "GET",
        f"{BASE}manifest.webmanifest",
        courier_manifest,
        "The courier app's web app manifest",
        {200: ("application/manifest+json", None), 422: ("unsupported lang", ErrorBody)},
        parameters=[_LANG],
        tag="courier app",
    ),
    Route(
        "GET",
        f"{courier_files.PREFIX}{{version}}/{{name}}",
        courier_file,
        "The courier app's scripts, stylesheet and icons, under the version of them all:"
        " cached for a year, never revalidated",
        {
            200: ("the file", None),
            404: ("no file has this name (an unknown or an earlier version)", ErrorBody),
        },
        tag="courier app",
    ),
]


def install(app: web.Application, files: courier_files.Shell = SHELL) -> None:
    """Serves the courier app from `app` (ingest's, or `shipnotify dev`'s single app)."""
    app[FILES] = files
    add_routes(app, ROUTES)


def _language(request: web.Request) -> str:
    asked = request.query.get("lang")
    if asked is None:
        kept = request.cookies.get(LANG_COOKIE)
        return kept if kept in LANGUAGES else negotiate(request.headers.get("Accept-Language"))
    if asked not in LANGUAGES:
        raise ApiError(
            422,
            "invalid_field",
            f"lang must be one of {', '.join(LANGUAGES)}",
            {"lang": f"unsupported: {asked[:16]}"},
        )
    return asked
