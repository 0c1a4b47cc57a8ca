"""The courier app's decisions (static/policy.js), run in Chromium without any I/O: what an
upload's answer means for its taps, how long the app waits before trying again, what a stop
shows once the courier's own taps count, and what a scanned code names."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Page, async_playwright

from shipnotify import web as sweb
from shipnotify.devstack.processes import free_port
from shipnotify.ingest import courier_app
from shipnotify.web.serving import serve

from .conftest import CHROMIUM, CHROMIUM_ARGS

# One browser for the module's tests: they only call pure functions in it.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def policy() -> AsyncIterator[Page]:
    """A page of the app's origin with policy.js imported as `window.policy`."""
    port = free_port()
    app = sweb.new_app(1024)
    courier_app.install(app)
    async with serve(app, "127.0.0.1", port, shutdown_timeout_s=1), async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await browser.new_page()
        await page.route("**/sw.js", lambda route: route.abort())  # the page alone, no worker
        await page.goto(f"http://127.0.0.1:{port}/courier/")
        url = courier_app.SHELL.url("policy.js")
        await page.evaluate(f"import('{url}').then((m) => {{ window.policy = m; }})")
        await page.wait_for_function("window.policy !== undefined")
        yield page
        await browser.close()


async def call(page: Page, expression: str) -> Any:
    return await page.evaluate(f"(() => {{ const p = window.policy; return {expression}; }})()")


EXPIRED = {"error": "unauthorized", "message": "token expired", "fields": {"Authorization": "x"}}
BAD_ITEMS = {"error": "invalid_field", "message": "m", "fields": {"events": "Field required"}}
BAD_JSON = {"error": "invalid_json", "message": "the body is not valid JSON"}
TOO_MANY = {"error": "too_many_events", "message": "at most 50 events a batch"}
NOW = "Wed, 21 Oct 2015 07:28:00 GMT"
ANSWERS = [
    (200, {"accepted": 0, "rejected": 0, "results": []}, None, {"kind": "results", "results": []}),
    (401, EXPIRED, None, {"kind": "signed_out", "reason": "Authorization: x"}),
    (413, TOO_MANY, None, {"kind": "smaller"}),
    (503, {"error": "unavailable"}, "5", {"kind": "retry", "afterS": 5}),
    (502, None, None, {"kind": "retry", "afterS": None}),
    (429, None, "Wed, 21 Oct 2015 07:28:30 GMT", {"kind": "retry", "afterS": 30}),
    (503, None, "soon", {"kind": "retry", "afterS": None}),
    (422, BAD_ITEMS, None, {"kind": "refused", "reason": "events: Field required"}),
    (400, BAD_JSON, None, {"kind": "refused", "reason": "the body is not valid JSON"}),
    (403, None, None, {"kind": "refused", "reason": "refused"}),
    (200, None, None, {"kind": "retry", "afterS": None}),  # a proxy's page, not ingest's
]


@pytest.mark.parametrize(("status", "body", "retry_after", "verdict"), ANSWERS)
async def test_an_answer_says_what_becomes_of_the_taps(
    policy: Page, status: int, body: Any, retry_after: str | None, verdict: dict[str, Any]
) -> None:
    args = f"{status}, {_js(body)}, {_js(retry_after)}, Date.parse({_js(NOW)})"
    assert await call(policy, f"p.judge({args})") == verdict


async def test_each_tap_of_a_batch_gets_its_own_verdict(policy: Page) -> None:
    taps = [{"seq": 7}, {"seq": 8}, {"seq": 9}]
    fields = {"events.1.occurred_at": "is more than 30 days old", "events.1.status": "x"}
    results = [
        {"index": 1, "result": "rejected", "fields": fields},
        {"index": 0, "result": "accepted", "event_id": "e0"},
    ]
    assert await call(policy, f"p.verdicts({_js(taps)}, {_js(results)})") == [
        {"seq": 7, "state": "sent"},
        {
            "seq": 8,
            "state": "refused",
            "reason": "occurred_at: is more than 30 days old; status: x",
        },
        {"seq": 9, "state": "queued"},  # no answer: it stays, to be sent again
    ]


async def test_the_wait_doubles_to_five_minutes_and_never_undercuts_retry_after(
    policy: Page,
) -> None:
    lows = await call(policy, "[1, 2, 3, 4, 8, 9, 30].map((n) => p.backoffMs(n, null, () => 0))")
    highs = await call(policy, "[1, 2, 3, 4, 8, 9, 30].map((n) => p.backoffMs(n, null, () => 1))")
    assert highs == [2_000, 4_000, 8_000, 16_000, 256_000, 300_000, 300_000]
    assert lows == [h // 2 for h in highs]  # spread between half and all of it
    assert await call(policy, "p.backoffMs(1, 120, () => 1)") == 120_000
    assert await call(policy, "p.backoffMs(9, 5, () => 1)") == 300_000


async def test_a_tap_moves_its_stop_on_until_the_server_has_caught_up(policy: Page) -> None:
    progress = {
        "registered": ["picked_up"],
        "picked_up": ["out_for_delivery"],
        "out_for_delivery": ["delivery_attempted", "delivered"],
        "delivery_attempted": ["out_for_delivery"],
        "delivered": [],
    }
    stop = {
        "shipment_id": "s1",
        "status": "picked_up",
        "status_at": "2026-05-04T10:00:00Z",
        "next": ["out_for_delivery"],
    }

    async def seen(taps: list[dict[str, Any]]) -> tuple[str, list[str], int | None]:
        shown = await call(policy, f"p.localStop({_js(stop)}, {_js(taps)}, {_js(progress)})")
        return shown["status"], shown["next"], (shown["tap"] or {}).get("seq")

    def tap(
        seq: int, status: str, at: str, state: str = "queued", sid: str = "s1"
    ) -> dict[str, Any]:
        return {"seq": seq, "shipment_id": sid, "status": status, "occurred_at": at, "state": state}

    assert await seen([]) == ("picked_up", ["out_for_delivery"], None)
    later = [
        tap(1, "out_for_delivery", "2026-05-04T10:05:00Z"),
        tap(2, "delivery_attempted", "2026-05-04T10:09:00Z", "sent"),
        tap(3, "delivered", "2026-05-04T10:10:00Z", sid="s2"),  # another stop's
    ]
    assert await seen(later) == ("delivery_attempted", ["out_for_delivery"], 2)
    refused = [*later[:1], tap(2, "delivery_attempted", "2026-05-04T10:09:00Z", "refused")]
    assert await seen(refused) == ("out_for_delivery", ["delivery_attempted", "delivered"], 2)
    earlier = [tap(1, "picked_up", "2026-05-04T09:59:00Z", "sent")]  # the server has it
    assert await seen(earlier) == ("picked_up", ["out_for_delivery"], 1)


@pytest.mark.parametrize(
    ("text", "tracking_id"),
    [
        ("k7m2q4xr5tn3wb6yd2hf", "k7m2q4xr5tn3wb6yd2hf"),
        (" K7M2 Q4XR 5TN3 WB6Y D2HF ", "k7m2q4xr5tn3wb6yd2hf"),
        ("https://trk.carrier.example/t/k7m2q4xr5tn3wb6yd2hf?src=label", "k7m2q4xr5tn3wb6yd2hf"),
    ],
)
async def test_a_typed_or_scanned_code_names_its_tracking_number(
    policy: Page, text: str, tracking_id: str
) -> None:
    assert await call(policy, f"p.trackingIdOf({_js(text)})") == tracking_id


async def test_a_tap_goes_out_with_the_fields_the_batch_takes_only(policy: Page) -> None:
    tap = {
        "seq": 3,
        "state": "queued",
        "made": 1,
        "tracking_id": "t",
        "shipment_id": "s",
        "event_id": "e",
        "occurred_at": "2026-05-04T10:00:00.000Z",
        "status": "delivered",
        "received_by": "Ion",
    }
    assert await call(policy, f"p.wire({_js(tap)})") == {
        "shipment_id": "s",
        "event_id": "e",
        "occurred_at": "2026-05-04T10:00:00.000Z",
        "status": "delivered",
        "received_by": "Ion",
    }


def _js(value: Any) -> str:
    return json.dumps(value)
