"""The courier app as ingest serves it: the page in the courier's language with a strict
policy, the manifest, and the files under their version, cached for a year; the service
worker allowed the app's whole scope."""

from __future__ import annotations

import re

import pytest

from shipnotify.i18n import LANGUAGES
from shipnotify.ingest import courier_app, courier_files
from shipnotify.ingest.courier_app import SHELL

from .conftest import Api

pytestmark = pytest.mark.redis_agnostic  # its outcome does not depend on Redis: run once

IMMUTABLE = "public, max-age=31536000, immutable"


async def test_the_page_is_served_with_a_policy_that_lets_nothing_inline_run(api: Api) -> None:
    resp = await api.get("/courier/")
    assert resp.status == 200
    assert (resp.content_type, resp.charset) == ("text/html", "utf-8")
    assert resp.headers["Cache-Control"] == "no-cache"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers[courier_app.VERSION_HEADER] == SHELL.version
    policy = dict(
        d.strip().split(" ", 1) for d in resp.headers["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'self'"
    assert "script-src" not in policy  # default-src: self only
    assert "style-src" not in policy
    assert "'unsafe-inline'" not in resp.headers["Content-Security-Policy"]
    assert (policy["base-uri"], policy["form-action"], policy["object-src"]) == ("'none'",) * 3
    assert SHELL.url("app.js") in await resp.text()

    moved = await api.get("/courier", allow_redirects=False)
    assert (moved.status, moved.headers["Location"]) == (308, "/courier/")


@pytest.mark.parametrize(
    ("accept", "lang"),
    [("ru-MD,ru;q=0.9,en;q=0.5", "ru"), ("de-DE, ro;q=0.8, en;q=0.7", "ro"), ("fr", "en")],
)
async def test_the_page_speaks_the_language_the_phone_asks_for(
    api: Api, accept: str, lang: str
) -> None:
    resp = await api.get("/courier/", headers={"Accept-Language": accept})
    assert f'<html lang="{lang}">' in await resp.text()
    assert resp.headers["Vary"] == "Accept-Language, Cookie"


async def test_a_language_chosen_is_kept_for_the_next_start(api: Api) -> None:
    chosen = await api.get("/courier/", params={"lang": "ro"}, headers={"Accept-Language": "ru"})
    assert '<html lang="ro">' in await chosen.text()
    cookie = chosen.cookies[courier_app.LANG_COOKIE]
    assert cookie.value == "ro"
    assert (cookie["path"], cookie["samesite"], cookie["httponly"]) == ("/courier/", "Strict", True)
    again = await api.get("/courier/", headers={"Accept-Language": "ru"})  # the jar sends it
    assert '<html lang="ro">' in await again.text()
    assert courier_app.LANG_COOKIE not in again.cookies  # not set again without a choice
    manifest = await api.get("/courier/manifest.webmanifest")
    assert (await manifest.json(content_type=None))["lang"] == "ro"


async def test_an_unknown_language_is_refused_by_name(api: Api) -> None:
    for path in ("/courier/", "/courier/manifest.webmanifest"):
        resp = await api.get(path, params={"lang": "xx"})
        assert resp.status == 422
        assert await resp.json() == {
            "error": "invalid_field",
            "message": f"lang must be one of {', '.join(LANGUAGES)}",
            "fields": {"lang": "unsupported: xx"},
        }


async def test_the_manifest_is_served_as_a_web_app_manifest(api: Api) -> None:
    resp = await api.get("/courier/manifest.webmanifest", params={"lang": "ru"})
    assert resp.status == 200
    assert resp.content_type == "application/manifest+json"
    body = await resp.json(content_type=None)
    assert body == courier_app.manifest("ru")
    assert body["name"] == "shipnotify курьер"


async def test_each_file_is_served_by_version_with_its_type_for_a_year(api: Api) -> None:
    for name, file in SHELL.by_name.items():
        resp = await api.get(SHELL.url(name))
        assert resp.status == 200, name
        assert resp.content_type == file.content_type
        assert resp.headers["Cache-Control"] == IMMUTABLE
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert await resp.read() == file.body
        allowed = resp.headers.get("Service-Worker-Allowed")
        assert allowed == ("/courier/" if name == "sw.js" else None), name
    head = await api.head(SHELL.url("icon-512.png"))
    assert head.status == 200
    assert int(head.headers["Content-Length"]) == len(SHELL.by_name["icon-512.png"].body)
    listing = await (await api.get(SHELL.url(courier_files.LISTING))).json()
    assert sorted(listing) == sorted(SHELL.url(n) for n in SHELL.by_name if n != "files.json")


async def test_an_earlier_version_or_an_unknown_name_is_a_json_404(api: Api) -> None:
    for path in (
        "/courier/static/000000000000/app.js",
        f"/courier/static/{SHELL.version}/nothing.js",
        f"/courier/static/{SHELL.version}/",
    ):
        resp = await api.get(path)
        assert resp.status == 404, path
        assert resp.headers.get("Cache-Control") != IMMUTABLE
        body = await resp.json()
        assert body["error"] == "not_found"
        assert re.fullmatch(r"(name|path)", next(iter(body["fields"])))
