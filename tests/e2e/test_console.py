"""The console in headless Chromium against `shipnotify dev` with its demo (four weeks of
history: the weaker depot, courier and Friday evenings): signing in with the operator key,
the overview, the satisfaction page's heatmap, tables and pain map, a filter, a CSV export,
signing out; the demo's call-back case taken, noted and closed from its page; in English,
Russian and Romanian, at desktop and phone width, loading nothing from another host and
breaking none of its Content-Security-Policy. Screenshots go to
tests/e2e/artifacts/ (the README's are copies)."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import time
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from shipnotify.devstack.history import WORSE_COURIER, WORSE_DEPOT

from .console import history_in, signed_in
from .courier import PHONE, check_readable_and_reachable, shoot
from .test_browser import Watch

pytestmark = pytest.mark.timeout(240)


async def test_the_operator_signs_in_and_finds_the_weak_cells_of_the_demo(
    demo: str, browser: Browser
) -> None:
    await history_in(demo)
    page = await signed_in(browser, demo, lang="en")
    watch = Watch(page)
    value = await page.get_by_test_id("value-csat").inner_text()
    assert 50.0 < float(value) < 95.0, value
    await expect(page.get_by_test_id("surveys-csat")).to_contain_text("%")
    coverage = await page.get_by_test_id("value-coverage").inner_text()
    assert 60.0 < float(coverage.removesuffix(" %")) < 90.0, coverage  # a quarter tapped nothing
    await shoot(page, "console-overview-en.png")

    await page.get_by_test_id("to-satisfaction").click()
    await expect(page.get_by_test_id("heatmap").locator("svg")).to_be_visible()
    assert await page.get_by_test_id("heatmap").locator("g.cell").count() == 168
    depots = page.get_by_test_id("table-depot")
    weak = depots.locator("tr.below")
    await expect(weak).to_have_count(1)
    await expect(weak).to_contain_text(WORSE_DEPOT)
    await expect(weak.get_by_test_id("below")).to_have_text("below average")
    couriers = page.get_by_test_id("table-courier")
    await expect(couriers.locator("tr.below", has_text=WORSE_COURIER)).to_have_count(1)
    first_pain = page.get_by_test_id("table-reason").get_by_test_id("row-reason").first
    await expect(first_pain).to_contain_text("It was late")
    await shoot(page, "console-satisfaction-en.png")

    async with page.expect_download() as fetching:
        await page.get_by_test_id("csv-courier").click()
    download = await fetching.value
    assert download.suggested_filename.startswith("satisfaction-csat-courier-")
    saved = await download.path()
    rows = list(csv.DictReader(io.StringIO(await asyncio.to_thread(Path(saved).read_text))))
    assert {r["cell"] for r in rows} >= {WORSE_COURIER, "c-11"}
    assert [r["below_average"] for r in rows if r["cell"] == WORSE_COURIER] == ["1"]

    # a period with no history: the tables say so
    await page.get_by_test_id("from").fill("2020-01-01")
    await page.get_by_test_id("to").fill("2020-01-07")
    await page.get_by_test_id("apply").click()
    await expect(page).to_have_url(re.compile(r"from=2020-01-01"))
    await expect(page.get_by_test_id("overall")).to_contain_text("No answers yet")

    assert await page.evaluate("window.violations") == []
    await page.get_by_test_id("sign-out").click()
    await expect(page.get_by_test_id("sign-in-form")).to_be_visible()
    await page.goto(f"{demo}/console/satisfaction")
    await expect(page.get_by_test_id("sign-in-form")).to_be_visible()  # the session is over
    assert watch.errors == []
    assert all(u.startswith(demo + "/") for u in watch.requested), watch.requested


@pytest.mark.parametrize(
    ("lang", "overview", "below"),
    [
        ("en", "Overview", "below average"),
        ("ru", "Обзор", "ниже среднего"),
        ("ro", "Prezentare", "sub medie"),
    ],
)
async def test_the_console_speaks_en_ru_ro_and_fits_a_phone(
    demo: str, browser: Browser, lang: str, overview: str, below: str
) -> None:
    await history_in(demo)
    page = await signed_in(browser, demo, lang=lang, phone=True)
    await expect(page.locator("html")).to_have_attribute("lang", lang)
    await expect(page.get_by_role("heading", level=1)).to_have_text(overview)
    assert await check_readable_and_reachable(page) >= 10
    await shoot(page, f"console-overview-phone-{lang}.png")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width  # the shipment and notice figures fit too
    await page.get_by_test_id("kpi-coverage").scroll_into_view_if_needed()
    await shoot(page, f"console-overview-figures-phone-{lang}.png")
    await page.get_by_test_id("nav-satisfaction").click()
    await expect(page.get_by_test_id("table-depot").get_by_test_id("below")).to_have_text(below)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width  # nothing wider than the phone: tables scroll inside
    await shoot(page, f"console-satisfaction-phone-{lang}.png")
    if lang != "en":
        desktop = await signed_in(browser, demo, lang=lang)
        await desktop.get_by_test_id("nav-satisfaction").click()
        await shoot(desktop, f"console-satisfaction-{lang}.png")
    assert await page.evaluate("window.violations") == []


async def _demo_case(page: Page, base: str, *, lang: str) -> str:
    """Waits on the cases page until the demo's unhappy customer's case is listed with what
    went wrong (the demo walks its shipments, the survey goes 10 s after delivery, the
    customer answers 2 by SMS, then says why once asked); returns the case's link."""
    deadline = time.monotonic() + 150
    while True:
        await page.goto(f"{base}/console/cases?lang={lang}")
        rows = page.get_by_test_id("case-row").filter(has_text="It came two days late")
        if await rows.count():
            link = await rows.first.get_by_test_id("open-case").get_attribute("href")
            assert link is not None
            return link
        assert time.monotonic() < deadline, "the demo's call-back case never came"
        await asyncio.sleep(2)


async def test_the_operator_takes_notes_and_closes_the_demos_call_back_case(
    demo: str, browser: Browser
) -> None:
    page = await signed_in(browser, demo, lang="en")
    watch = Watch(page)
    started = time.monotonic()
    await page.get_by_test_id("nav-cases").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Call-backs")
    link = await _demo_case(page, demo, lang="en")
    waited = time.monotonic() - started
    print(f"the demo's call-back case listed after {waited:.0f} s on the cases page")
    row = page.get_by_test_id("case-row").first
    await expect(row).to_contain_text("CSAT 2 · SMS · Recipient")
    await expect(row).to_contain_text("It was late")
    await expect(row).to_contain_text("It came two days late")
    await expect(row.get_by_test_id("case-state")).to_have_text("open")
    await shoot(page, "console-cases-en.png")

    # the same case on a phone, in Russian: whom to call, the timeline, the forms
    phone = await signed_in(browser, demo, lang="ru", phone=True)
    await phone.goto(f"{demo}{link.replace('lang=en', 'lang=ru')}")
    await expect(phone.get_by_role("heading", level=1)).to_contain_text("Обращение")
    await expect(phone.get_by_test_id("phone")).to_have_text("+79123456789")
    await expect(phone.get_by_test_id("timeline")).to_contain_text("Доставлено")
    assert await check_readable_and_reachable(phone) >= 10
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width  # the timeline scrolls inside
    await shoot(phone, "console-case-phone-ru.png")
    assert await phone.evaluate("window.violations") == []

    await row.get_by_test_id("open-case").click()
    await expect(page.get_by_test_id("customer")).to_contain_text("Мария Иванова")
    await page.get_by_test_id("operator").fill("Maria")
    await page.get_by_test_id("take").click()
    await expect(page.get_by_test_id("flash")).to_have_text("Done: the case shows the change.")
    await expect(page.get_by_test_id("taken-by")).to_have_text("Maria")
    await expect(page.get_by_test_id("case-state")).to_have_text("in progress")
    await page.get_by_test_id("note-text").fill("Called her: the van broke down on the way.")
    await page.get_by_test_id("add-note").click()
    await expect(page.get_by_test_id("note")).to_contain_text("the van broke down")
    await page.get_by_test_id("outcome-choice").select_option("apologised")
    await page.get_by_test_id("cause-choice").select_option("transport")
    await page.get_by_test_id("close-note").fill("Apologised; she was fine with it.")
    await page.get_by_test_id("close").click()
    await expect(page.get_by_test_id("case-state")).to_have_text("closed")
    await expect(page.get_by_test_id("outcome")).to_have_text("Apologised")
    await expect(page.get_by_test_id("cause")).to_have_text("Transport")
    await expect(page.get_by_test_id("close-form")).to_have_count(0)

    await page.get_by_test_id("back").click()
    await expect(page.get_by_test_id("no-cases")).to_be_visible()  # no open case left
    await page.get_by_test_id("state").select_option("closed")
    await page.get_by_test_id("apply").click()
    await expect(page.get_by_test_id("case-row").first.get_by_test_id("case-state")).to_have_text(
        "closed"
    )
    assert await page.evaluate("window.violations") == []
    assert watch.errors == []
    assert all(u.startswith(demo + "/") for u in watch.requested), watch.requested
