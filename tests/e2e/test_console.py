"""The console in headless Chromium against `shipnotify dev` with its demo (four weeks of
history: the weaker depot, courier and Friday evenings): signing in with the operator key,
the overview, the satisfaction page's heatmap, tables and pain map, a filter, a CSV export,
signing out; in English, Russian and Romanian, at desktop and phone width, loading nothing
from another host and breaking none of its Content-Security-Policy. Screenshots go to
tests/e2e/artifacts/ (the README's are copies)."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from shipnotify.devstack.history import WORSE_COURIER, WORSE_DEPOT
from shipnotify.devstack.processes import free_port

from .conftest import API_KEY
from .courier import PHONE, check_readable_and_reachable, shoot
from .test_browser import CHROMIUM, CHROMIUM_ARGS, RECORD_VIOLATIONS, Watch

pytestmark = pytest.mark.timeout(240)
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`shipnotify dev` with its demo and history, once the history's figures are in."""
    out = tmp_path_factory.mktemp("console") / "dev.log"
    port = free_port()
    env = {**os.environ, "SHIPNOTIFY_API_KEYS": API_KEY}
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shipnotify", "dev", "--http-port", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while "history " not in out.read_text():
            assert proc.poll() is None, out.read_text()
            assert time.monotonic() < deadline, out.read_text()
            time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


async def signed_in(browser: Browser, base: str, *, lang: str, phone: bool = False) -> Page:
    context = await browser.new_context(
        viewport=PHONE if phone else DESKTOP,  # type: ignore[arg-type]
        is_mobile=phone,
        has_touch=phone,
        locale={"en": "en-GB", "ru": "ru-RU", "ro": "ro-RO"}[lang],
        accept_downloads=True,
    )
    page = await context.new_page()
    await page.add_init_script(RECORD_VIOLATIONS)
    await page.goto(f"{base}/console")
    await expect(page.get_by_test_id("sign-in-form")).to_be_visible()
    await page.get_by_test_id("key").fill(API_KEY)
    await page.get_by_test_id("sign-in").click()
    await expect(page.get_by_test_id("headline-csat")).to_be_visible()
    return page


async def _history_in(base: str) -> None:
    """Waits until the tracker has applied the history: the overview counts its answers."""
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession(base, cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        form = await (await http.get("/console/sign-in")).text()
        token = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        await http.post("/console/sign-in", data={"key": API_KEY, "csrf": token})
        while True:
            got = await http.get("/console/satisfaction", params={"csv": "depot"})
            rows = list(csv.DictReader(io.StringIO(await got.text())))
            if sum(int(r["answers"]) for r in rows) >= 200:
                return
            assert time.monotonic() < deadline, rows
            await asyncio.sleep(0.5)


async def test_the_operator_signs_in_and_finds_the_weak_cells_of_the_demo(
    demo: str, browser: Browser
) -> None:
    await _history_in(demo)
    page = await signed_in(browser, demo, lang="en")
    watch = Watch(page)
    value = await page.get_by_test_id("value-csat").inner_text()
    assert 50.0 < float(value) < 95.0, value
    await expect(page.get_by_test_id("surveys-csat")).to_contain_text("%")
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
    await _history_in(demo)
    page = await signed_in(browser, demo, lang=lang, phone=True)
    await expect(page.locator("html")).to_have_attribute("lang", lang)
    await expect(page.get_by_role("heading", level=1)).to_have_text(overview)
    assert await check_readable_and_reachable(page) >= 10
    await shoot(page, f"console-overview-phone-{lang}.png")
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
