"""The tracking page over HTTP: its stylesheet and script served by versioned name, cached
for a year; a policy that lets no inline code run; and the progress stages the page shows,
carried by the status JSON and each live update."""

from __future__ import annotations

import base64
import json
import re

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from shipnotify.config import Settings
from shipnotify.status_api import app as status_app
from shipnotify.status_api.assets import ASSETS

from .conftest import Api, courier, eventually, register, running_tracker, tap, unique
from .test_live import next_event

IMMUTABLE = "public, max-age=31536000, immutable"


async def test_the_page_names_its_static_files_and_they_are_served_for_a_year(
    api: Api, settings: Settings
) -> None:
    missing = await api.get("/t/nosuchtrackingid0000")  # any page names the stylesheet
    assert missing.status == 404
    html = await missing.text()
    (css,) = re.findall(r'<link rel="stylesheet" href="([^"]+)">', html)
    assert re.fullmatch(r"/static/page\.[0-9a-f]{12}\.css", css)
    resp = await api.get(css)
    assert resp.status == 200
    assert resp.content_type == "text/css"
    assert resp.charset == "utf-8"
    assert resp.headers["Cache-Control"] == IMMUTABLE
    assert await resp.read() == ASSETS["page.css"].body

    js = ASSETS["page.js"].url
    resp = await api.get(js)
    assert (resp.status, resp.content_type) == (200, "text/javascript")
    assert resp.headers["Cache-Control"] == IMMUTABLE
    assert await resp.read() == ASSETS["page.js"].body
    head = await api.head(js)
    assert head.status == 200
    assert int(head.headers["Content-Length"]) == len(ASSETS["page.js"].body)


async def test_an_unknown_or_earlier_static_name_is_a_json_404(api: Api) -> None:
    stale = "/static/page.000000000000.css"
    for path in (stale, "/static/page.css", "/static/page.js", "/static/nothing"):
        resp = await api.get(path)
        assert resp.status == 404, path
        assert resp.headers.get("Cache-Control") != IMMUTABLE
        assert await resp.json() == {
            "error": "not_found",
            "message": "no static file has this name",
            "fields": {"name": "unknown"},
        }


async def test_the_page_policy_lets_no_inline_code_run(api: Api, settings: Settings) -> None:
    sid = unique("assets")
    async with running_tracker(settings):
        tid = await register(api, settings, sid)

        async def page() -> str | None:
            resp = await api.get(f"/t/{tid}")
            return resp.headers["Content-Security-Policy"] if resp.status == 200 else None

        policy = await eventually(page)
    missing = await api.get("/t/nosuchtrackingid0000")
    assert missing.headers["Content-Security-Policy"] == policy
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert "'unsafe-inline'" not in policy
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["default-src"] == "'none'"
    assert directives["connect-src"] == "'self'"  # hooks at the same origin, or no VAPID key
    assert directives["worker-src"] == "'self'"
    assert directives["base-uri"] == "'none'"
    assert directives["form-action"] == "'none'"


async def test_the_json_and_each_live_update_carry_the_progress_the_page_shows(
    api: Api, settings: Settings
) -> None:
    sid = unique("assets")
    async with running_tracker(settings):
        tid = await register(api, settings, sid)

        async def registered() -> bool:
            return (await api.get(f"/v1/track/{tid}")).status == 200

        await eventually(registered)
        stream = await api.get(f"/v1/track/{tid}/events", params={"lang": "ro"})
        _, first = await next_event(stream)
        posted = await api.post(
            f"/v1/shipments/{sid}/events",
            json=tap("delivery_attempted", failure="recipient_absent"),
            headers=courier(settings),
        )
        assert posted.status == 202
        _, update = await next_event(stream)
        stream.close()
    assert [s["state"] for s in first["progress"]] == ["current", *["todo"] * 5]
    assert [(s["stage"], s["state"]) for s in update["progress"]] == [
        ("registered", "done"),
        ("confirmed", "done"),
        ("picked_up", "done"),
        ("in_transit", "done"),
        ("out_for_delivery", "attempted"),
        ("delivered", "todo"),
    ]
    assert update["progress"][0]["label"] == "Înregistrat"
    resp = await api.get(f"/v1/track/{tid}", params={"lang": "ro"})
    assert (await resp.json())["progress"] == update["progress"]
    html = await (await api.get(f"/t/{tid}", params={"lang": "ro"})).text()
    shown = re.findall(
        r'<li class="stage stage--(\w+)"[^>]*><span class="stage-name">([^<]+)', html
    )
    assert shown == [(s["state"], s["label"]) for s in update["progress"]]


# A VAPID public key: an uncompressed P-256 point (any such bytes are one to the settings).
VAPID_PUBLIC = base64.urlsafe_b64encode(bytes([4]) + bytes(range(64))).decode().rstrip("=")


async def test_the_service_worker_keeps_its_url_and_may_serve_the_tracking_pages(
    api: Api,
) -> None:
    resp = await api.get("/static/push-worker.js")
    assert (resp.status, resp.content_type) == (200, "text/javascript")
    assert resp.headers["Service-Worker-Allowed"] == "/t/"
    assert resp.headers["Cache-Control"] == "no-cache"  # a browser checks it for a new version
    assert resp.headers["Content-Security-Policy"] == "default-src 'none'"
    assert await resp.read() == ASSETS["push-worker.js"].body


async def test_with_a_vapid_key_the_page_may_reach_hooks_and_run_its_worker(
    api: Api, settings: Settings
) -> None:
    """hooks served at another origin (SHIPNOTIFY_WEBHOOK_URL): the page may post to it, and
    to nothing else; its data block names the key and hooks' URL."""
    offering = settings.with_(vapid_public_key=VAPID_PUBLIC, webhook_url="https://hooks.test:8443")
    sid = unique("push-page")
    async with (
        running_tracker(settings),
        TestClient(TestServer(status_app.init_app(offering))) as status,
    ):
        tid = await register(api, settings, sid)

        async def page() -> ClientResponse | None:
            resp = await status.get(f"/t/{tid}")
            return resp if resp.status == 200 else None

        resp = await eventually(page)
        html = await resp.text()
    directives = dict(
        d.strip().split(" ", 1) for d in resp.headers["Content-Security-Policy"].split(";")
    )
    assert directives["connect-src"] == "'self' https://hooks.test:8443"
    assert directives["worker-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    (data,) = re.findall(r'<script type="application/json" id="page-data">(.*?)</script>', html)
    push = json.loads(data)["push"]
    assert push["key"] == VAPID_PUBLIC
    assert push["url"] == "https://hooks.test:8443/v1/push-subscriptions"
    assert 'data-testid="push-subscribe"' in html
