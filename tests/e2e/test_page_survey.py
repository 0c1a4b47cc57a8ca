"""The tracking page's question after delivery, in a real headless Chromium (phone-sized)
against `shipnotify dev`: it appears on an open page when the courier taps `delivered`, a
low score brings "What went wrong?", the answer reaches hooks and opens a call-back case, a
reload thanks instead of asking again, and it speaks the page's language. Screenshots go to
tests/e2e/artifacts/."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from playwright.async_api import Browser, ViewportSize, expect

from tests.integration.conftest import eventually

from .conftest import API_KEY
from .test_browser import (
    ARTIFACTS,
    RECORD_VIOLATIONS,
    Watch,
    _ship,
    _tap,
    _wait_for_tracking,
)

PHONE: ViewportSize = {"width": 390, "height": 844}


def _cases(base: str) -> list[dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 (loopback only)
        f"{base}/v1/cases?state=all", headers={"X-Api-Key": API_KEY}
    )
    with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
        cases: list[dict[str, Any]] = json.load(resp)["cases"]
        return cases


@pytest.mark.timeout(180)
async def test_a_low_score_on_the_page_asks_why_and_opens_a_call_back_case(
    dev: str, browser: Browser
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shipment_id, url = _ship(dev)
    _wait_for_tracking(url)
    _tap(dev, shipment_id, "out_for_delivery")
    page = await browser.new_page(viewport=PHONE, locale="en-GB")
    await page.add_init_script(RECORD_VIOLATIONS)
    watch = Watch(page)
    await page.goto(url)
    survey = page.get_by_test_id("survey")
    await expect(page.get_by_test_id("live")).to_contain_text("Live", timeout=10_000)
    await expect(survey).to_be_hidden()  # not before delivery

    _tap(dev, shipment_id, "delivered")
    await expect(survey).to_be_visible(timeout=10_000)  # the open page, without a reload
    await expect(survey.get_by_role("heading")).to_have_text(
        "How satisfied are you with this delivery?"
    )
    scores = survey.locator("button.score")
    await expect(scores).to_have_count(5)
    box = await scores.first.bounding_box()
    assert box is not None
    assert box["width"] >= 44
    assert box["height"] >= 44  # a thumb's target
    await page.screenshot(path=ARTIFACTS / "tracking-page-survey.png", full_page=True)

    await page.get_by_test_id("score-2").click()
    why = page.get_by_test_id("survey-why")
    await expect(why).to_be_visible()
    await expect(why).to_contain_text("What went wrong?")
    await page.get_by_test_id("survey-send").click()  # nothing chosen yet
    await expect(page.get_by_test_id("survey-note")).to_have_text("Please choose what went wrong.")
    await page.get_by_test_id("reason-late").check()
    await page.get_by_test_id("survey-comment").fill("Two days later than promised")
    await page.screenshot(path=ARTIFACTS / "tracking-page-survey-why.png", full_page=True)
    await page.get_by_test_id("survey-send").click()
    await expect(page.get_by_test_id("survey-note")).to_contain_text("put it right")
    await expect(why).to_be_hidden()

    async def opened() -> dict[str, Any] | None:
        mine = [c for c in _cases(dev) if c["shipment_id"] == shipment_id]
        if mine and mine[0].get("follow_up"):
            return mine[0]
        return None

    case = await eventually(opened, timeout_s=20)
    assert case["answer"]["source"] == "page"
    assert case["answer"]["score"] == 2
    assert case["follow_up"]["reason"] == "late"
    assert case["follow_up"]["comment"] == "Two days later than promised"
    assert case["state"] == "open"
    assert case["due_at"]

    await page.reload()  # answered: thanked, not asked again
    await expect(page.get_by_test_id("survey-note")).to_have_text("Thank you for your answer.")
    await expect(scores.first).to_be_hidden()
    assert await page.evaluate("window.violations") == []
    await page.close()
    assert watch.errors == []
    assert all(u.startswith(dev + "/") for u in watch.requested), watch.requested


async def test_the_question_speaks_the_pages_language(dev: str, browser: Browser) -> None:
    shipment_id, url = _ship(dev)
    _wait_for_tracking(url)
    _tap(dev, shipment_id, "delivered")
    page = await browser.new_page(viewport=PHONE, locale="ru-RU")
    await page.goto(url + "?lang=ru")
    survey = page.get_by_test_id("survey")
    await expect(survey).to_be_visible(timeout=10_000)
    await expect(survey.get_by_role("heading")).to_have_text(
        "Насколько вы довольны этой доставкой?"
    )
    await page.get_by_test_id("score-5").click()
    await expect(page.get_by_test_id("survey-note")).to_have_text("Спасибо за ответ.")
    await expect(page.get_by_test_id("survey-why")).to_be_hidden()  # a happy answer: no "why"
    await page.screenshot(path=ARTIFACTS / "tracking-page-survey-ru.png", full_page=True)
    await page.close()
