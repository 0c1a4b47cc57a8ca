"""The tracking page in a real headless Chromium against `shipnotify dev`: a status posted by
a courier appears on an open page without a reload, the language switch works, and the page
renders without JavaScript. Its Content-Security-Policy lets no inline code run; the page
breaks none of it, logs no error and loads nothing from another host. Screenshots are kept
in tests/e2e/artifacts/."""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, expect
from standardwebhooks import Webhook

from shipnotify.devstack.stack import DEV_COURIER_TOKEN_SECRET
from shipnotify.web.auth import issue_courier_token

from .conftest import API_KEY

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def _post(url: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 (loopback only)
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
        reply: dict[str, Any] = json.load(resp)
        return reply


def _ship(base: str) -> tuple[str, str]:
    shipment_id = f"web-{uuid.uuid4().hex[:8]}"
    reply = _post(
        f"{base}/v1/shipments",
        {
            "shipment_id": shipment_id,
            "sender": {"contacts": [{"name": "Ana", "email": "ana@example.com"}]},
            "recipient": {"contacts": [{"name": "Ion", "email": "ion@example.com"}]},
        },
        {"X-Api-Key": API_KEY},
    )
    return shipment_id, str(reply["tracking_url"])


def _tap(base: str, shipment_id: str, status: str, **extra: Any) -> None:
    token = issue_courier_token(DEV_COURIER_TOKEN_SECRET, "courier-web", 600)
    when = (datetime.now(UTC) - timedelta(milliseconds=1)).isoformat()
    _post(
        f"{base}/v1/shipments/{shipment_id}/events",
        {"event_id": str(uuid.uuid4()), "occurred_at": when, "status": status, **extra},
        {"Authorization": f"Bearer {token}"},
    )


# Records each Content-Security-Policy violation in the page, before any of its own code runs.
RECORD_VIOLATIONS = """
window.violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.violations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


class Watch:
    """What a page reports: console errors (a refused script or stylesheet among them),
    uncaught exceptions, and the addresses it requested."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        self.requested: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        page.on("request", lambda r: self.requested.append(r.url))

    def _console(self, message: ConsoleMessage) -> None:
        # (the browser's own look for /favicon.ico, which the page does not name, is no error
        # of the page's)
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            self.errors.append(f"{message.text} ({message.location['url']})")


def _wait_for_tracking(url: str) -> None:
    api = url.replace("/t/", "/v1/track/")
    for _ in range(200):
        try:
            with urllib.request.urlopen(api, timeout=5):  # noqa: S310
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{api} never appeared")


def _is_poll(url: str) -> bool:
    """A request of the page's polling fallback (its stream is /events)."""
    return "/v1/track/" in url and "/events" not in url


@pytest.mark.timeout(180)
async def test_a_posted_status_appears_on_an_open_page_without_reload(
    dev: str, browser: Browser
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shipment_id, url = _ship(dev)
    _wait_for_tracking(url)
    page = await browser.new_page(viewport={"width": 390, "height": 844}, locale="en-GB")
    await page.add_init_script(RECORD_VIOLATIONS)
    watch = Watch(page)
    await page.goto(url)
    status = page.get_by_test_id("status")
    assert (await status.inner_text()).strip() == "Registered"
    await expect(page.get_by_test_id("live")).to_contain_text("Live", timeout=10_000)
    navigations = 0
    polls: list[str] = []

    def navigated(_: object) -> None:
        nonlocal navigations
        navigations += 1

    page.on("framenavigated", navigated)
    page.on("request", lambda r: polls.append(r.url) if _is_poll(r.url) else None)
    _tap(dev, shipment_id, "out_for_delivery", location={"city": "Chișinău"})
    await expect(status).to_contain_text("Out for delivery", timeout=10_000)
    assert navigations == 0  # no reload
    assert polls == []  # it came over the open stream
    assert await page.get_by_test_id("timeline-item").count() == 2
    stages = page.locator("#progress > li")
    await expect(stages).to_have_count(6)
    assert [await li.get_attribute("class") for li in await stages.all()] == [
        *["stage stage--done"] * 4,
        "stage stage--current",
        "stage stage--todo",
    ]
    # the stylesheet applies (the current language's button is filled with the accent)
    await expect(page.get_by_test_id("lang-en")).to_have_css("background-color", "rgb(10, 88, 168)")
    await page.screenshot(path=ARTIFACTS / "tracking-page-en.png", full_page=True)
    assert await page.evaluate("window.violations") == []  # (a page's own, reset at each load)

    await page.get_by_test_id("lang-ru").click()
    await expect(page.get_by_test_id("status")).to_contain_text("Передано курьеру")
    await expect(page.locator("html")).to_have_attribute("lang", "ru")
    await expect(page.get_by_test_id("live")).to_contain_text("В реальном времени")  # noqa: RUF001
    await page.screenshot(path=ARTIFACTS / "tracking-page-ru.png", full_page=True)
    assert await page.evaluate("window.violations") == []
    await page.close()
    assert watch.errors == []
    assert all(u.startswith(dev + "/") for u in watch.requested), watch.requested
    assert any("/static/page." in u and u.endswith(".js") for u in watch.requested)


async def test_the_page_renders_without_javascript(dev: str, browser: Browser) -> None:
    _, url = _ship(dev)
    _wait_for_tracking(url)
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(url + "?lang=ro")
    assert (await page.get_by_test_id("status").inner_text()).strip() == "Înregistrat"
    assert re.search(r"UTC", await page.content())
    await context.close()


@pytest.mark.timeout(120)
async def test_without_server_sent_events_the_page_polls(dev: str, browser: Browser) -> None:
    shipment_id, url = _ship(dev)
    _wait_for_tracking(url)
    page = await browser.new_page()
    polls: list[str] = []
    await page.route("**/events*", lambda route: route.abort())  # a proxy that drops streams
    page.on(
        "request",
        lambda r: polls.append(r.headers.get("if-none-match", "")) if _is_poll(r.url) else None,
    )
    await page.goto(url)
    _tap(dev, shipment_id, "picked_up")
    await expect(page.get_by_test_id("status")).to_contain_text("Picked up", timeout=40_000)
    await expect(page.get_by_test_id("timeline-item")).to_have_count(2)
    assert polls, "the page never polled"
    await page.close()


def _webhook_sandbox(dev_output: Path) -> str:
    """The webhook sandbox's address, as `shipnotify dev` printed it."""
    found = re.search(r"webhooks\s+(http://127\.0\.0\.1:\d+)", dev_output.read_text())
    assert found, dev_output.read_text()
    return found[1]


def _signed_webhook(sandbox: str, endpoint: str, shipment_id: str) -> str:
    """A webhook as an account's endpoint gets it, signed by the Standard Webhooks library,
    posted to the dev stack's webhook sandbox (told the secret first); its webhook-id."""
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    _post(f"{sandbox}/_sandbox/endpoints/{endpoint}/secrets", {"secret": secret}, {})
    body = json.dumps(
        {
            "type": "shipment.status_changed",
            "timestamp": datetime.now(UTC).isoformat(),
            "data": {"shipment_id": shipment_id, "tracking_id": "Q7K2", "version": 4},
        }
    )
    msg_id = f"msg_{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    request = urllib.request.Request(  # noqa: S310 (loopback only)
        f"{sandbox}/webhooks/{endpoint}",
        data=body.encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, now, body),
        },
    )
    with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
        assert resp.status == 204
    return msg_id


async def test_the_outbox_lists_the_webhooks_received_on_a_phone(
    dev: str, dev_output: Path, browser: Browser
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    msg_id = _signed_webhook(_webhook_sandbox(dev_output), "phone-test", "web-outbox-1")
    page = await browser.new_page(viewport={"width": 390, "height": 844}, locale="ru-RU")
    watch = Watch(page)
    await page.goto(f"{dev}/outbox")
    await expect(page.locator("html")).to_have_attribute("lang", "ru")
    await expect(page.locator("#webhooks")).to_contain_text("Вебхуки")
    row = page.get_by_test_id("webhooks").locator("tr", has_text=msg_id)
    await expect(row).to_contain_text("проверена")
    await expect(row).to_contain_text("web-outbox-1")
    await expect(row).to_contain_text("shipment.status_changed")
    # on a phone each message is a block of named cells, and nothing is wider than the screen
    await expect(row.locator("td").first).to_have_css("display", "block")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await row.scroll_into_view_if_needed()
    await page.screenshot(path=ARTIFACTS / "outbox-ru.png", full_page=True)
    await page.get_by_role("link", name="Română").click()
    await expect(page.get_by_test_id("webhooks").locator("tr", has_text=msg_id)).to_contain_text(
        "verificată"
    )
    await page.close()
    assert watch.errors == []
