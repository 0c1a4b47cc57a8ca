"""The survey email's landing page in a phone-sized headless Chromium against hooks on a
loopback port, with Apache Kafka and redis-server: a low score's link opens with that score
chosen, Send records it, the follow-up form asks what went wrong, and its Send records that
(with no JavaScript at all); the page loads nothing from another host, breaks none of its
Content-Security-Policy, every text meets WCAG AA and every control is 48 px or more; it
speaks English, Russian and Romanian. The surveys are a FakeFeedback's (the tracker's
consumer keeps the real ones). Screenshots go to tests/e2e/artifacts/ (the README's and
hooks/landing-page*.png are copies)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from playwright.async_api import Browser, BrowserContext, expect

from shipnotify import kafka
from shipnotify.config import Settings
from shipnotify.devstack.processes import free_port
from shipnotify.hooks import app as hooks_app
from shipnotify.model import survey
from shipnotify.store.feedback import Survey
from shipnotify.v1 import feedback_pb2 as fpb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.v1 import survey_pb2 as spb
from shipnotify.web.serving import serve
from tests.fake_feedback import FakeFeedback, sent
from tests.integration.conftest import eventually, unique
from tests.offsets import read_all

from .courier import PHONE, check_readable_and_reachable, shoot
from .test_browser import RECORD_VIOLATIONS, Watch

pytestmark = pytest.mark.timeout(180)


@dataclass
class Hooks:
    base: str
    settings: Settings
    feedback: FakeFeedback

    def link(self, asked: Survey, score: int) -> str:
        """The survey email's link of a score, as the notifier makes it."""
        token = survey.survey_token(
            self.settings.opt_out_secret, asked.shipment_id, asked.survey_id
        )
        return survey.survey_link(self.base, token, score)

    def emailed(self, locale: str) -> Survey:
        asked = sent(
            unique("landing"), channel=pb.CHANNEL_EMAIL, address="ana@example.com", locale=locale
        )
        self.feedback.contexts[asked.shipment_id] = ("north", "c-17")
        return self.feedback.put(asked)

    async def appended(self, shipment_id: str) -> list[fpb.FeedbackEvent]:
        records = await read_all(self.settings, self.settings.feedback_topic)
        events = [
            fpb.FeedbackEvent.FromString(r.value) for r in sorted(records, key=lambda r: r.offset)
        ]
        return [e for e in events if e.shipment_id == shipment_id]


@pytest.fixture
async def hooks(settings: Settings) -> AsyncIterator[Hooks]:
    """hooks alone on a free loopback port, as `shipnotify hooks` serves it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = settings.with_(public_url=base, webhook_url=base, http_port=port)
    await kafka.ensure_topics(settings)
    feedback = FakeFeedback()
    app = hooks_app.init_app(settings, feedback=feedback)
    async with serve(app, "127.0.0.1", port, shutdown_timeout_s=1), aiohttp.ClientSession() as http:

        async def ready() -> bool:
            async with http.get(f"{base}/readyz") as resp:
                return resp.status == 200

        await eventually(ready)
        yield Hooks(base, settings, feedback)


async def phone(browser: Browser, *, javascript: bool = True) -> BrowserContext:
    return await browser.new_context(
        viewport=PHONE,
        device_scale_factor=1,
        is_mobile=True,
        has_touch=True,
        locale="en-GB",
        java_script_enabled=javascript,
    )


async def test_a_low_scores_link_records_on_send_and_asks_what_went_wrong(
    hooks: Hooks, browser: Browser
) -> None:
    """No JavaScript at all: the page and its forms work as plain HTML."""
    asked = hooks.emailed("en")
    context = await phone(browser, javascript=False)
    page = await context.new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    await page.goto(hooks.link(asked, 2))
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "How satisfied are you with this delivery?"
    )
    await expect(page.get_by_test_id("score-2")).to_be_checked()
    for other in (1, 3, 4, 5):
        await expect(page.get_by_test_id(f"score-{other}")).not_to_be_checked()
    # the stylesheet applies: the chosen score is filled with the accent
    chosen = page.locator("label.choice", has=page.get_by_test_id("score-2")).locator("span")
    await expect(chosen).to_have_css("background-color", "rgb(10, 88, 168)")
    await shoot(page, "landing-page-en.png")
    assert await hooks.appended(asked.shipment_id) == []  # the link's visit records nothing

    await page.get_by_test_id("send").click()
    await expect(page.get_by_test_id("thanks")).to_have_text("Thank you for your answer!")
    await expect(page.get_by_test_id("follow-up-form")).to_be_visible()
    answer, case = await hooks.appended(asked.shipment_id)
    assert (answer.survey_answered.score, answer.survey_answered.unhappy) == (2, True)
    assert answer.survey_answered.source == spb.ANSWER_SOURCE_EMAIL
    assert case.case_opened.case_id == survey.case_id(asked.survey_id)
    await page.get_by_test_id("reason-late").check()
    await page.get_by_test_id("comment").fill("It came a day after the date I was given.")
    await shoot(page, "landing-page-follow-up-en.png")

    await page.get_by_test_id("send").click()
    await expect(page.get_by_test_id("heading")).to_have_text("Thank you for telling us.")
    *_, follow_up = await hooks.appended(asked.shipment_id)
    assert follow_up.follow_up_answered == fpb.FollowUpAnswered(
        survey_id=asked.survey_id,
        reason=spb.REASON_LATE,
        comment="It came a day after the date I was given.",
        source=spb.ANSWER_SOURCE_EMAIL,
    )
    await context.close()
    assert len(requested) >= 4  # the pages and the stylesheet
    assert all(u.startswith(hooks.base + "/") for u in requested), requested


async def test_the_page_loads_nothing_else_and_is_readable_and_reachable(
    hooks: Hooks, browser: Browser
) -> None:
    asked = hooks.emailed("en")
    context = await phone(browser)
    page = await context.new_page()
    await page.add_init_script(RECORD_VIOLATIONS)
    watch = Watch(page)
    await page.goto(hooks.link(asked, 1))
    await expect(page.get_by_test_id("score-1")).to_be_checked()
    assert await check_readable_and_reachable(page) >= 10
    assert await page.evaluate("window.violations") == []
    await page.get_by_test_id("send").click()
    await expect(page.get_by_test_id("follow-up-form")).to_be_visible()
    assert await check_readable_and_reachable(page) >= 10
    await page.get_by_test_id("send").click()  # no reason chosen: the browser asks for one
    await expect(page.get_by_test_id("follow-up-form")).to_be_visible()
    assert await page.evaluate("window.violations") == []
    await context.close()
    assert watch.errors == []
    assert all(u.startswith(hooks.base + "/") for u in watch.requested), watch.requested
    assert any("/s/static/landing." in u for u in watch.requested)


@pytest.mark.parametrize(
    ("locale", "question", "send"),
    [
        ("en", "How satisfied are you with this delivery?", "Send"),
        ("ru", "Насколько вы довольны этой доставкой?", "Отправить"),
        ("ro", "Cât de mulțumit sunteți de această livrare?", "Trimiteți"),
    ],
)
async def test_the_page_speaks_the_surveys_language_and_switches(
    hooks: Hooks, browser: Browser, locale: str, question: str, send: str
) -> None:
    asked = hooks.emailed(locale)
    context = await phone(browser)
    page = await context.new_page()
    await page.goto(hooks.link(asked, 4))
    await expect(page.locator("html")).to_have_attribute("lang", locale)
    await expect(page.get_by_role("heading", level=1)).to_have_text(question)
    await expect(page.get_by_test_id("send")).to_have_text(send)
    await expect(page.get_by_test_id(f"lang-{locale}")).to_have_attribute("aria-current", "true")
    if locale != "en":
        await shoot(page, f"landing-page-{locale}.png")
    other = "ro" if locale == "ru" else "ru"
    await page.get_by_test_id(f"lang-{other}").click()
    await expect(page.locator("html")).to_have_attribute("lang", other)
    await expect(page.get_by_test_id("score-4")).to_be_checked()  # the switch keeps the score
    await page.get_by_test_id("send").click()
    thanks = {"ru": "Спасибо за ваш ответ!", "ro": "Vă mulțumim pentru răspuns!"}[other]
    await expect(page.get_by_test_id("heading")).to_have_text(thanks)  # 4: happy, no follow-up
    [answer] = await hooks.appended(asked.shipment_id)
    assert answer.survey_answered.score == 4
    await context.close()
