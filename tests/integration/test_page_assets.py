"""The tracking page over HTTP: its stylesheet and script served by versioned name, cached
for a year; a policy that lets no inline code run; and the progress stages the page shows,
carried by the status JSON and each live update."""

from __future__ import annotations

import re

from shipnotify.config import Settings
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
    assert directives["connect-src"] == "'self'"
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
