"""The console on redis-server: signing in with the operator key (a double-submitted form
token, the session cookie's attributes, a wrong key, signing out, a session's end), and the
satisfaction figures of the per-day counts as pages and CSV."""

from __future__ import annotations

import asyncio
import csv
import io
import math
import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from shipnotify.config import Settings
from shipnotify.console import app as console_app
from shipnotify.console import kpis
from shipnotify.model import survey
from shipnotify.store.survey_days import SurveyDays
from shipnotify.tracker.service import feedback_store
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import survey_pb2 as spb

from .conftest import Api, unique
from .feedback_events import answered, followed_up, sent
from .test_survey_days import delivered

ZONE = ZoneInfo("Europe/Chisinau")
KEY = "test-key"


@pytest.fixture
async def console(settings: Settings, redis: Redis) -> AsyncIterator[Api]:
    settings = settings.with_(time_zone=ZONE.key)
    app = console_app.init_app(settings, redis=redis)
    async with TestClient(TestServer(app)) as client:
        yield client


def _token(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


async def sign_in(client: Api, key: str = KEY) -> str:
    """Signs in; returns the session's form token."""
    form = await client.get("/console/sign-in?lang=en")
    posted = await client.post(
        "/console/sign-in?lang=en",
        data={"key": key, "csrf": _token(await form.text())},
        allow_redirects=False,
    )
    assert posted.status == 303, await posted.text()
    page = await client.get("/console?lang=en")
    assert page.status == 200
    return _token(await page.text())


async def test_a_page_asks_to_sign_in_and_the_operator_key_opens_a_session(
    console: Api,
) -> None:
    away = await console.get("/console", allow_redirects=False)
    assert away.status == 303
    assert away.headers["Location"].startswith("/console/sign-in?lang=")
    form = await console.get("/console/sign-in?lang=ro")
    page = await form.text()
    assert 'lang="ro"' in page
    assert "Cheia operatorului" in page
    token = _token(page)
    posted = await console.post(
        "/console/sign-in?lang=ro", data={"key": KEY, "csrf": token}, allow_redirects=False
    )
    assert posted.status == 303
    assert posted.headers["Location"] == "/console?lang=ro"
    cookie = posted.cookies["shipnotify_console"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/console"
    assert not cookie["secure"]  # plain http: the local stack
    assert int(cookie["max-age"]) == 8 * 3600
    overview = await console.get("/console?lang=ro")
    assert overview.status == 200
    assert overview.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in overview.headers["Content-Security-Policy"]
    assert "Prezentare" in await overview.text()


@pytest.mark.parametrize("key", ["wrong-key", ""])
async def test_a_wrong_key_shows_the_form_again_and_opens_nothing(console: Api, key: str) -> None:
    form = await console.get("/console/sign-in?lang=en")
    posted = await console.post(
        "/console/sign-in?lang=en",
        data={"key": key, "csrf": _token(await form.text())},
        allow_redirects=False,
    )
    assert posted.status == 401
    assert "That key is not the operator key." in await posted.text()
    assert "shipnotify_console" not in posted.cookies
    assert (await console.get("/console", allow_redirects=False)).status == 303


async def test_a_sign_in_without_its_forms_token_is_refused(
    settings: Settings, redis: Redis
) -> None:
    app = console_app.init_app(settings, redis=redis)
    async with TestClient(TestServer(app)) as fresh:  # no form seen: no form cookie
        posted = await fresh.post(
            "/console/sign-in", data={"key": KEY, "csrf": "made-up"}, allow_redirects=False
        )
        assert posted.status == 403
        assert (await fresh.get("/console", allow_redirects=False)).status == 303


async def test_signing_out_needs_the_sessions_token_and_ends_the_session(
    console: Api,
) -> None:
    token = await sign_in(console)
    refused = await console.post("/console/sign-out", data={"csrf": "x"}, allow_redirects=False)
    assert refused.status == 403
    assert (await console.get("/console", allow_redirects=False)).status == 200
    out = await console.post("/console/sign-out", data={"csrf": token}, allow_redirects=False)
    assert out.status == 303
    assert (await console.get("/console", allow_redirects=False)).status == 303


async def test_a_session_ends_at_its_time(settings: Settings, redis: Redis) -> None:
    app = console_app.init_app(settings.with_(console_session_s=1), redis=redis)
    async with TestClient(TestServer(app)) as client:
        await sign_in(client)
        await asyncio.sleep(2.1)
        assert (await client.get("/console", allow_redirects=False)).status == 303


async def _answers(
    settings: Settings, redis: Redis, account: str, scores: list[int], *, days_ago: int = 3
) -> datetime:
    """Surveys answered for an account's shipments delivered days ago at 10:15."""
    day = datetime.now(ZONE).date() - timedelta(days=days_ago)
    at = datetime.combine(day, datetime.min.time(), ZONE).replace(hour=10, minute=15)
    feedback = feedback_store(settings.with_(time_zone=ZONE.key), redis)
    for score in scores:
        sid = unique("console")
        events = await delivered(redis, sid, account, at)
        sv = survey.survey_id(events[-1].event_id, npb.PARTY_ROLE_RECIPIENT)
        ms = int(at.timestamp() * 1000)
        got = [sent(sid, sv, ms + 60_000), answered(sid, sv, ms + 120_000, score)]
        if score <= 2:
            got.append(followed_up(sid, sv, ms + 180_000, spb.REASON_LATE))
        await feedback.apply(got)
    return at


async def test_the_satisfaction_page_and_its_csv_show_an_accounts_figures(
    console: Api, settings: Settings, redis: Redis
) -> None:
    account = f"acct_{uuid.uuid4().hex[:12]}"
    at = await _answers(settings, redis, account, [5, 5, 4, 1, 2, 5])
    await sign_in(console)
    query = f"lang=en&account={account}&from={at.date()}&to={at.date()}"
    page = await console.get(f"/console/satisfaction?{query}")
    assert page.status == 200
    html = await page.text()
    assert "<svg" in html
    assert "http://" not in html.split("<svg", 1)[1].split("</svg>")[0]
    assert "66.7" in html  # 4 of 6 satisfied
    overview = await (await console.get(f"/console?{query}")).text()
    assert "66.7" in overview
    assert "100.0 %" in overview

    depots = await console.get(f"/console/satisfaction?{query}&csv=depot")
    assert depots.status == 200
    assert depots.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in depots.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(await depots.text())))
    assert [(r["cell"], r["answers"], r["value"]) for r in rows] == [("north", "6", "66.667")]
    reasons = list(
        csv.DictReader(
            io.StringIO(
                await (await console.get(f"/console/satisfaction?{query}&csv=reason")).text()
            )
        )
    )
    assert [(r["cell"], r["answers"], r["value"]) for r in reasons] == [
        ("It was late", "2", "100.0")
    ]
    hours = list(
        csv.DictReader(
            io.StringIO(await (await console.get(f"/console/satisfaction?{query}&csv=hour")).text())
        )
    )
    assert [r["cell"] for r in hours] == [f"{at.strftime('%A')} 10:00"]
    assert (await console.get(f"/console/satisfaction?{query}&csv=nope")).status == 404


async def test_bad_filters_are_named_and_the_page_shows_the_defaults(
    console: Api,
) -> None:
    await sign_in(console)
    page = await console.get("/console/satisfaction?lang=en&from=2026-13-01&scale=stars")
    assert page.status == 200
    html = await page.text()
    assert 'data-testid="problem-from"' in html
    assert "not a date (YYYY-MM-DD)" in html
    assert 'data-testid="problem-scale"' in html
    swapped = await (await console.get("/console?lang=en&from=2026-11-10&to=2026-11-01")).text()
    assert "ends before it starts" in swapped


async def test_the_last_7_days_figures_are_prometheus_gauges(
    settings: Settings, redis: Redis
) -> None:
    # a day no other test delivers on: the gauges count every account's answers
    at = await _answers(settings, redis, "", [5, 4, 4, 1], days_ago=100 + uuid.uuid4().int % 200)
    days = SurveyDays(redis, ZONE)
    await kpis.refresh(days, at.date() + timedelta(days=6))
    assert REGISTRY.get_sample_value("shipnotify_satisfaction", {"scale": "csat"}) == 75.0
    assert REGISTRY.get_sample_value("shipnotify_satisfaction_answers", {"scale": "csat"}) == 4
    sent = REGISTRY.get_sample_value("shipnotify_satisfaction_surveys_sent", {"scale": "csat"})
    assert sent == 4
    nps = REGISTRY.get_sample_value("shipnotify_satisfaction", {"scale": "nps"})
    assert nps is not None
    assert math.isnan(nps)  # no answers on that scale: no figure, not a 0
    await kpis.refresh(days, at.date() + timedelta(days=7))  # the day out of the window
    assert REGISTRY.get_sample_value("shipnotify_satisfaction_answers", {"scale": "csat"}) == 0
