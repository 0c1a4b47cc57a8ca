"""The business customers' portal in headless Chromium against `shipnotify dev` with its demo:
the shipments page (filters, a search, the next page, a CSV download, a shipment's page) for
the operator, who sees every account's, and for the demo account's team member, signed in
by the link emailed to the dev stack's outbox, who sees their account's alone whatever the
address asks for; in English, Russian and Romanian at phone width, loading nothing from
another host and breaking none of the Content-Security-Policy. Screenshots go to
tests/e2e/artifacts/."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import time
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, Page, expect

from shipnotify.devstack.demo import ACCOUNT_NAME, ACCOUNT_SHIPMENTS, TEAM_EMAIL

from .conftest import API_KEY
from .console import DESKTOP, history_in, new_page, operator, signed_in
from .courier import PHONE, check_readable_and_reachable, shoot
from .test_browser import Watch

pytestmark = pytest.mark.timeout(240)


async def _rows(page: Page) -> list[tuple[str, str]]:
    """The page's rows: (shipment id, status code)."""
    rows = page.get_by_test_id("shipment-row")
    return [
        (str(await r.get_attribute("data-shipment")), str(await r.get_attribute("data-status")))
        for r in await rows.all()
    ]


async def _download(page: Page) -> list[dict[str, str]]:
    async with page.expect_download() as fetching:
        await page.get_by_test_id("csv").click()
    download = await fetching.value
    assert download.suggested_filename.startswith("shipments")
    assert download.suggested_filename.endswith(".csv")
    text = await asyncio.to_thread(Path(await download.path()).read_text)
    return list(csv.DictReader(io.StringIO(text)))


async def test_the_operator_filters_searches_and_downloads_every_accounts_shipments(
    demo: str, browser: Browser
) -> None:
    await history_in(demo)
    page = await signed_in(browser, demo, lang="en")
    watch = Watch(page)
    await page.get_by_test_id("nav-shipments").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Shipments")
    await expect(page.get_by_test_id("shipment-row")).to_have_count(50)
    await expect(page.get_by_test_id("next-page")).to_be_visible()
    await shoot(page, "console-shipments-en.png")
    await page.get_by_test_id("next-page").click()
    await expect(page.get_by_test_id("shipment-row")).to_have_count(50)
    await expect(page.get_by_test_id("first-page")).to_be_visible()

    await page.get_by_test_id("status").select_option("delivered")
    await page.get_by_test_id("apply").click()
    await expect(page).to_have_url(re.compile(r"status=delivered"))
    shown = await _rows(page)
    assert len(shown) == 50
    assert {status for _, status in shown} == {"delivered"}
    rows = await _download(page)
    assert len(rows) >= 600  # the history's, every one delivered
    assert {r["status"] for r in rows} == {"delivered"}
    assert [r["shipment_id"] for r in rows[:50]] == [sid for sid, _ in shown]

    # a tracking id, exactly: that shipment alone
    first = page.get_by_test_id("shipment-row").nth(3)
    tracking = await first.get_by_test_id("tracking-id").inner_text()
    sid = await first.get_attribute("data-shipment")
    await page.get_by_test_id("search").fill(tracking)
    await page.get_by_test_id("apply").click()
    await expect(page.get_by_test_id("shipment-row")).to_have_count(1)
    assert await _rows(page) == [(sid, "delivered")]

    await page.get_by_test_id("open-shipment").click()
    await expect(page.get_by_test_id("tracking-id")).to_have_text(tracking)
    await expect(page.get_by_test_id("step").first).to_be_visible()
    assert await page.get_by_test_id("step").count() >= 2
    notices = await page.get_by_test_id("notices").get_attribute("href")
    assert notices == f"/console/notices?lang=en&shipment={sid}"
    await shoot(page, "console-shipment-en.png")

    assert await page.evaluate("window.violations") == []
    assert watch.errors == []
    assert all(u.startswith(demo + "/") for u in watch.requested), watch.requested


@pytest.mark.parametrize(
    ("lang", "title", "any_status"),
    [
        ("en", "Shipments", "Any status"),
        ("ru", "Отправления", "Любой статус"),
        ("ro", "Expedieri", "Orice stare"),
    ],
)
async def test_the_shipments_speak_en_ru_ro_and_fit_a_phone(
    demo: str, browser: Browser, lang: str, title: str, any_status: str
) -> None:
    await history_in(demo)
    page = await signed_in(browser, demo, lang=lang, phone=True)
    await page.get_by_test_id("nav-shipments").click()
    await expect(page.locator("html")).to_have_attribute("lang", lang)
    await expect(page.get_by_role("heading", level=1)).to_have_text(title)
    await expect(page.get_by_test_id("status").locator("option").first).to_have_text(any_status)
    await expect(page.get_by_test_id("shipment-row")).to_have_count(50)
    assert await check_readable_and_reachable(page) >= 10
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width  # each row a card, nothing wider than the phone
    await shoot(page, f"console-shipments-phone-{lang}.png")
    await page.get_by_test_id("open-shipment").first.click()
    await expect(page.get_by_test_id("timeline")).to_be_visible()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    assert await page.evaluate("window.violations") == []


async def _demo_account(base: str) -> str:
    """The demo account's id, once the demo has made it."""
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession(base, headers={"X-Api-Key": API_KEY}) as http:
        while True:
            listed = await (await http.get("/v1/accounts")).json()
            found = [a["account_id"] for a in listed["accounts"] if a["name"] == ACCOUNT_NAME]
            if found:
                break
            assert time.monotonic() < deadline, listed
            await asyncio.sleep(0.5)
    return str(found[0])


async def _link(base: str) -> str:
    """The sign-in link in the newest mail to the demo's team member, in the outbox."""
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession(base) as http:
        while True:
            mails = (await (await http.get("/outbox.json")).json())["email"]
            for n, mail in enumerate(mails):
                if TEAM_EMAIL in mail["to"]:
                    page = await (await http.get(f"/outbox/mail/{n}")).text()
                    found = re.search(r'href="(http[^"]+/console/sign-in/link/[^"]+)"', page)
                    if found and TEAM_EMAIL in page:
                        return found.group(1)
            assert time.monotonic() < deadline, mails
            await asyncio.sleep(0.3)


async def _member(browser: Browser, base: str, account: str, *, lang: str) -> Page:
    """A phone signed in as the demo account's team member, by the emailed link."""
    page = await new_page(browser, lang=lang, phone=True)
    await page.goto(f"{base}/console/sign-in?lang={lang}")
    await page.get_by_test_id("link-account").fill(account)
    await page.get_by_test_id("link-email").fill(TEAM_EMAIL)
    await page.get_by_test_id("ask-link").click()
    await page.goto(await _link(base))
    await page.get_by_test_id("use-link").click()
    await expect(page.get_by_test_id("nav-shipments")).to_be_visible()
    return page


async def _carriers_shipment(base: str) -> str:
    """A shipment of the carrier's own, as the operator's CSV lists it."""
    async with operator(base) as http:
        got = await http.get("/console/shipments", params={"csv": "1", "status": "delivered"})
        rows = list(csv.DictReader(io.StringIO(await got.text())))
    return next(r["shipment_id"] for r in rows if not r["account"])


async def test_the_demos_team_member_sees_their_accounts_shipments_alone(
    demo: str, browser: Browser
) -> None:
    await history_in(demo)
    account = await _demo_account(demo)
    page = await _member(browser, demo, account, lang="ro")
    watch = Watch(page)
    await page.get_by_test_id("nav-shipments").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Shipments")  # their locale
    await page.get_by_test_id("lang-ro").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Expedieri")
    await expect(page.get_by_test_id("account")).to_have_count(0)  # no account to choose
    deadline = time.monotonic() + 60
    while len(await _rows(page)) < len(ACCOUNT_SHIPMENTS):  # the demo registers them
        assert time.monotonic() < deadline, await _rows(page)
        await asyncio.sleep(0.5)
        await page.reload()
    shown = await _rows(page)
    assert len(shown) == len(ACCOUNT_SHIPMENTS)
    assert all(sid.startswith("demo-") for sid, _ in shown), shown
    assert await check_readable_and_reachable(page) >= 5
    await shoot(page, "console-shipments-member-phone-ro.png")
    rows = await _download(page)
    assert {r["shipment_id"] for r in rows} == {sid for sid, _ in shown}
    assert {r["account"] for r in rows} == {account}

    # a filter: their delivered ones (the demo walks them on: none yet, or some)
    await page.get_by_test_id("status").select_option("delivered")
    await page.get_by_test_id("apply").click()
    await expect(page).to_have_url(re.compile(r"status=delivered"))
    assert {s for _, s in await _rows(page)} <= {"delivered"}

    # the address asks for every account's, or the carrier's shipment: theirs alone, a 404
    assert watch.errors == [], watch.errors  # (the 404 below is one, the browser says)
    other = await _carriers_shipment(demo)
    await page.goto(f"{demo}/console/shipments?lang=ro&account=&status=delivered&q={other}")
    await expect(page.get_by_test_id("no-shipments")).to_be_visible()
    await page.goto(f"{demo}/console/shipments?lang=ro&account=someone-else")
    assert {sid for sid, _ in await _rows(page)} == {sid for sid, _ in shown}
    answer = await page.goto(f"{demo}/console/shipments/{other}?lang=ro")
    assert answer is not None
    assert answer.status == 404
    answer = await page.goto(f"{demo}/console/shipments/{shown[0][0]}?lang=ro")
    assert answer is not None
    assert answer.status == 200
    await expect(page.get_by_test_id("owner")).to_contain_text(ACCOUNT_NAME)
    await page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]
    await shoot(page, "console-shipment-member-ro.png")
    assert await page.evaluate("window.violations") == []
    assert all(u.startswith(demo + "/") for u in watch.requested), watch.requested
