"""The console's notices page in headless Chromium against `shipnotify dev` with its demo: a
demo shipment found by the tracking id its SMS carried (as read from the outbox), its
notices with their delivery receipts beside its timeline, no phone number on the page; the
failed notices' list; in English, Russian and Romanian at phone width, nothing wider than
the phone, loading nothing from another host and breaking none of its
Content-Security-Policy. A notice the SMS provider refuses is listed and sent again from
its form. Screenshots go to tests/e2e/artifacts/."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from datetime import UTC, datetime

import aiohttp
import pytest
from playwright.async_api import Browser, expect

from .conftest import API_KEY
from .console import DESKTOP, signed_in
from .courier import PHONE, check_readable_and_reachable, shoot
from .test_browser import Watch

pytestmark = pytest.mark.timeout(240)
_TRACKING = re.compile(r"/t/([A-Za-z0-9_-]+)")
INVALID_NUMBER = "+15005550001"  # the SMS sandbox refuses it: not a valid phone number


async def demo_sms(base: str) -> tuple[str, str]:
    """A demo shipment's tracking id and the number its SMS went to, once the sandbox has
    delivered an SMS of it (the demo walks its shipments every 2 s)."""
    deadline = time.monotonic() + 120
    async with aiohttp.ClientSession(base) as http:
        while True:
            async with http.get("/outbox.json") as got:
                sms = (await got.json())["sms"]
            for message in sms:
                found = _TRACKING.search(message["body"])
                if found and message["status"] == "delivered":
                    return found.group(1), message["to"]
            assert time.monotonic() < deadline, "no demo SMS delivered"
            await asyncio.sleep(1.0)


@pytest.mark.parametrize(
    ("lang", "title", "delivered"),
    [
        ("en", "Notices", "Delivered"),
        ("ru", "Уведомления", "Доставлено"),
        ("ro", "Notificări", "Livrată"),
    ],
)
async def test_a_demo_shipments_notices_and_receipts_at_phone_width(
    demo: str, browser: Browser, lang: str, title: str, delivered: str
) -> None:
    tracking_id, phone = await demo_sms(demo)
    page = await signed_in(browser, demo, lang=lang, phone=True)
    watch = Watch(page)
    await page.get_by_test_id("nav-notices").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(title)
    await expect(page.get_by_test_id("failed")).to_be_visible()
    if lang == "en":
        await shoot(page, "console-notices-failed-phone-en.png")  # the failed notices' list

    await page.get_by_test_id("q").fill(tracking_id)
    await page.get_by_test_id("find").click()
    await expect(page).to_have_url(re.compile(r"shipment="))
    await expect(page.get_by_test_id("tracking-id")).to_have_text(tracking_id)
    await expect(page.get_by_test_id("step").first).to_be_visible()  # its timeline beside
    receipts = page.get_by_test_id("notice-receipt").filter(has_text=delivered)
    await expect(receipts.first).to_be_visible()
    assert await page.get_by_test_id("notice-row").count() >= 1
    assert phone not in await page.content()  # nobody's number on the page
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width  # the tables scroll inside
    assert await check_readable_and_reachable(page) >= 10
    await receipts.first.scroll_into_view_if_needed()
    await shoot(page, f"console-notices-phone-{lang}.png")

    # a search that finds nothing says so, in the page's language, with the search kept
    await page.get_by_test_id("q").fill("NO-SUCH-TRACKING-ID")
    await page.get_by_test_id("find").click()
    await expect(page.get_by_test_id("problem-q")).to_be_visible()
    await expect(page.get_by_test_id("q")).to_have_value("NO-SUCH-TRACKING-ID")

    assert await page.evaluate("window.violations") == []
    assert watch.errors == []
    assert all(u.startswith(demo + "/") for u in watch.requested), watch.requested


async def refused_sms(base: str) -> str:
    """A shipment whose sender's SMS the provider refuses (a number that cannot be one), its
    confirmation told (by the order system's key): its id."""
    sid = f"e2e-refused-{uuid.uuid4().hex[:8]}"
    registration = {
        "shipment_id": sid,
        "sender": {"contacts": [{"name": "Shop", "phone": INVALID_NUMBER, "locale": "en"}]},
        "recipient": {"contacts": [{"name": "Ion", "email": "ion@example.com"}]},
    }
    confirmed = {
        "event_id": str(uuid.uuid4()),
        "occurred_at": datetime.now(UTC).isoformat(),
        "status": "confirmed",
    }
    async with aiohttp.ClientSession(base, headers={"X-Api-Key": API_KEY}) as http:
        async with http.post("/v1/shipments", json=registration) as got:
            assert got.status == 202, await got.text()
        async with http.post(f"/v1/shipments/{sid}/events", json=confirmed) as got:
            assert got.status == 202, await got.text()
    return sid


async def test_a_refused_notice_is_listed_and_sent_again_from_its_form(
    demo: str, browser: Browser
) -> None:
    sid = await refused_sms(demo)
    page = await signed_in(browser, demo, lang="en")
    watch = Watch(page)
    row = page.get_by_test_id("failed-row").filter(has_text=sid)
    deadline = time.monotonic() + 60
    while True:
        await page.goto(f"{demo}/console/notices?lang=en")
        if await row.count():
            break
        assert time.monotonic() < deadline, "the refused notice never listed"
        await asyncio.sleep(0.5)
    await expect(row.get_by_test_id("notice-state")).to_have_text("Rejected")
    await expect(row).to_contain_text("21211")  # the provider's refusal, as the error says
    assert INVALID_NUMBER not in await page.content()
    await shoot(page, "console-notices-failed-en.png")

    await row.get_by_test_id("send-again").click()
    await expect(page).to_have_url(re.compile(rf"shipment={sid}&done=applied"))
    await expect(page.get_by_test_id("flash")).to_be_visible()
    sms = page.get_by_test_id("notice-row").filter(has_text="SMS")
    await expect(sms).to_have_count(2)  # the refused one and its copy
    # refused again, the copy takes its place on the list: one of them is offered again
    await page.goto(f"{demo}/console/notices?lang=en")
    await expect(page.get_by_test_id("failed-row").filter(has_text=sid)).to_have_count(1)
    await page.goto(f"{demo}/console/notices?lang=en&shipment={sid}")
    await expect(page.get_by_test_id("send-again")).to_have_count(1)
    assert page.viewport_size == DESKTOP
    await shoot(page, "console-notices-en.png")
    assert await page.evaluate("window.violations") == []
    assert watch.errors == []
    assert all(u.startswith(demo + "/") for u in watch.requested), watch.requested
