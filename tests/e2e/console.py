"""The console's browser tests' steps: a page signed in with the operator key, at desktop or
phone width, and waiting until the demo's history is all counted."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from zoneinfo import ZoneInfo

import aiohttp
from playwright.async_api import Browser, Page, expect

from shipnotify.devstack import history
from shipnotify.devstack.stack import DEV_ZONE

from .conftest import API_KEY
from .courier import PHONE
from .test_browser import RECORD_VIOLATIONS

DESKTOP = {"width": 1280, "height": 900}


async def new_page(browser: Browser, *, lang: str, phone: bool = False) -> Page:
    """A page at desktop or phone width in a browser speaking `lang`, recording CSP
    violations."""
    context = await browser.new_context(
        viewport=PHONE if phone else DESKTOP,  # type: ignore[arg-type]
        is_mobile=phone,
        has_touch=phone,
        locale={"en": "en-GB", "ru": "ru-RU", "ro": "ro-RO"}[lang],
        accept_downloads=True,
    )
    page = await context.new_page()
    await page.add_init_script(RECORD_VIOLATIONS)
    return page


@asynccontextmanager
async def operator(base: str) -> AsyncIterator[aiohttp.ClientSession]:
    """A client signed in to the console with the operator key."""
    async with aiohttp.ClientSession(base, cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        form = await (await http.get("/console/sign-in")).text()
        token = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        await http.post("/console/sign-in", data={"key": API_KEY, "csrf": token})
        yield http


async def signed_in(browser: Browser, base: str, *, lang: str, phone: bool = False) -> Page:
    page = await new_page(browser, lang=lang, phone=phone)
    await page.goto(f"{base}/console")
    await expect(page.get_by_test_id("sign-in-form")).to_be_visible()
    await page.get_by_test_id("key").fill(API_KEY)
    await page.get_by_test_id("sign-in").click()
    await expect(page.get_by_test_id("headline-csat")).to_be_visible()
    return page


async def history_in(base: str) -> None:
    """Waits until the tracker has applied the whole history: every answer and every reason
    counted (the demo's own answers may come on top)."""
    answers, reasons = history.answered(ZoneInfo(DEV_ZONE))
    deadline = time.monotonic() + 90
    async with operator(base) as http:
        while True:
            counted = []
            for table in ("depot", "reason"):
                got = await http.get("/console/satisfaction", params={"csv": table})
                rows = list(csv.DictReader(io.StringIO(await got.text())))
                # a reason's answers are the unhappy ones, the same on each row: its value's share
                counted.append(
                    sum(int(r["answers"]) for r in rows)
                    if table == "depot"
                    else sum(round(float(r["value"]) * int(r["answers"]) / 100) for r in rows)
                )
            if counted[0] >= answers and counted[1] >= reasons:
                return
            assert time.monotonic() < deadline, (counted, answers, reasons)
            await asyncio.sleep(0.5)
