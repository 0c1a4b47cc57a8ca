"""The business customer's webhooks and team in the console, in headless Chromium against
`shipnotify dev` with its demo (its account's endpoint is the webhook sandbox, its team the
logistics address): the endpoint with its delivery log, a message sent again from the log
and its second try logged, the team edited (a member changed, one added with a bad phone
first, then removed), in English, Russian and Romanian at phone width, loading nothing from
another host and breaking none of the Content-Security-Policy. Screenshots go to
tests/e2e/artifacts/."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from playwright.async_api import Browser, Page, expect

from shipnotify.devstack.demo import ACCOUNT_NAME, ENDPOINT, TEAM_EMAIL

from .console import signed_in
from .courier import PHONE, check_readable_and_reachable, shoot
from .test_browser import Watch

pytestmark = pytest.mark.timeout(240)


async def _demo_account(page: Page) -> str:
    """Chooses the demo account on the webhooks page; returns its id."""
    await page.get_by_test_id("nav-webhooks").click()
    await page.get_by_test_id("choose-account").filter(has_text=ACCOUNT_NAME).click()
    found = re.search(r"account=(acct_\w+)", page.url)
    assert found, page.url
    return found.group(1)


async def _tried(page: Page, base: str, path: str) -> str:
    """Waits until the endpoint's log has a try (the demo's shipments move every few
    seconds); returns the newest try's message id."""
    deadline = time.monotonic() + 120
    while not await page.get_by_test_id("try").count():
        assert time.monotonic() < deadline, "no webhook was tried"
        await asyncio.sleep(1)
        await page.goto(base + path)
    message = await page.get_by_test_id("try").first.get_attribute("data-message")
    assert message
    return message


async def test_the_demo_accounts_endpoint_its_log_a_replay_and_its_team(
    demo: str, browser: Browser
) -> None:
    page = await signed_in(browser, demo, lang="en")
    watch = Watch(page)
    account = await _demo_account(page)
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Webhook endpoints")
    endpoint = page.get_by_test_id("endpoint")
    await expect(endpoint).to_have_count(1)
    await expect(endpoint.get_by_test_id("endpoint-url")).to_contain_text(f"/webhooks/{ENDPOINT}")
    await expect(endpoint.get_by_test_id("endpoint-state")).to_have_text("On")
    await expect(endpoint.get_by_test_id("endpoint-types")).to_have_text("every event type")
    await expect(endpoint.get_by_test_id("endpoint-created")).to_contain_text(":")  # a time
    await endpoint.get_by_test_id("open-endpoint").click()
    path = page.url.removeprefix(demo)
    message = await _tried(page, demo, path)
    await expect(page.get_by_test_id("try").first).to_contain_text("204")
    assert "whsec_" not in await page.content()  # never a secret
    await shoot(page, "console-webhooks-en.png")

    # send that message again: a second try of the same message in the log
    before = await page.locator(f'[data-testid="try"][data-message="{message}"]').count()
    await (
        page.locator(f'[data-testid="try"][data-message="{message}"]')
        .first.get_by_test_id("resend")
        .click()
    )
    await expect(page.get_by_test_id("flash")).to_contain_text("Asked to send again")
    deadline = time.monotonic() + 60
    while await page.locator(f'[data-testid="try"][data-message="{message}"]').count() <= before:
        assert time.monotonic() < deadline, "the replay was never tried"
        await asyncio.sleep(1)
        await page.reload()
    # a replay with neither a message nor a time: named
    await page.get_by_test_id("replay").click()
    await expect(page.get_by_test_id("problem-body")).to_contain_text("either a message id")

    # the team: the logistics address changed, a member added (a bad phone first), removed
    await page.get_by_test_id("back").click()
    await page.get_by_test_id("tab-team").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Team")
    await expect(page.get_by_test_id("m-0-email")).to_have_value(TEAM_EMAIL)
    await page.get_by_test_id("m-0-role").fill("warehouse")
    await page.get_by_test_id("m-0-hears-delivered").check()
    await page.get_by_test_id("m-1-name").fill("Mia Popa")
    await page.get_by_test_id("m-1-phone").fill("12")
    await page.get_by_test_id("m-1-locale").select_option("ro")
    await page.get_by_test_id("save-team").click()
    await expect(page.get_by_test_id("problem-1.phone")).to_contain_text("international form")
    await expect(page.get_by_test_id("m-1-name")).to_have_value("Mia Popa")  # kept
    await page.get_by_test_id("m-1-phone").fill("+40721234567")
    await page.get_by_test_id("save-team").click()
    await expect(page.get_by_test_id("flash")).to_have_text("The team is saved.")
    await expect(page.get_by_test_id("m-0-role")).to_have_value("warehouse")
    await expect(page.get_by_test_id("m-0-hears-delivered")).to_be_checked()
    await expect(page.get_by_test_id("m-1-phone")).to_have_value("+40721234567")
    await expect(page.get_by_test_id("m-1-locale")).to_have_value("ro")
    await shoot(page, "console-team-en.png")
    await page.get_by_test_id("m-1-remove").check()
    await page.get_by_test_id("save-team").click()
    await expect(page.get_by_test_id("flash")).to_have_text("The team is saved.")
    await expect(page.get_by_test_id("member")).to_have_count(1)

    assert await page.evaluate("window.violations") == []
    # the two forms refused on purpose answered 422, which the browser reports; nothing else
    refused = [e for e in watch.errors if "status of 422" in e]
    assert len(refused) == 2, watch.errors
    assert [e for e in watch.errors if e not in refused] == []
    assert all(u.startswith(demo + "/") for u in watch.requested), watch.requested
    assert account.startswith("acct_")


@pytest.mark.parametrize(
    ("lang", "webhooks", "team"),
    [
        ("en", "Webhook endpoints", "Team"),
        ("ru", "Адреса вебхуков", "Команда"),
        ("ro", "Adrese de webhook", "Echipa"),
    ],
)
async def test_the_webhooks_and_team_speak_en_ru_ro_and_fit_a_phone(
    demo: str, browser: Browser, lang: str, webhooks: str, team: str
) -> None:
    page = await signed_in(browser, demo, lang=lang, phone=True)
    account = await _demo_account(page)
    await expect(page.get_by_role("heading", level=1)).to_contain_text(webhooks)
    await page.get_by_test_id("open-endpoint").click()
    await _tried(page, demo, page.url.removeprefix(demo))
    for name, heading in (("webhooks", webhooks), ("team", team)):
        if name == "team":
            await page.goto(f"{demo}/console/team?lang={lang}&account={account}")
        await expect(page.locator("html")).to_have_attribute("lang", lang)
        await expect(page.get_by_role("heading", level=1)).to_contain_text(
            heading if name == "team" else ""
        )
        assert await check_readable_and_reachable(page) >= 10
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (name, width)  # the log scrolls inside its table
        await shoot(page, f"console-{name}-phone-{lang}.png")
    assert await page.evaluate("window.violations") == []
