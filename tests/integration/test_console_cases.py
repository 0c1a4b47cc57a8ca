"""The console's call-back cases on Apache Kafka and redis-server, the tracker running: the
list in due order with the overdue marked, a case's page with its shipment's timeline and
whom to call (the operator's alone; a team member sees its account's cases alone), and
taking, noting and closing from the page's forms, each appended as hooks' case API appends
it and shown once the tracker applied it; stale forms, closed and unknown cases and bad
fields refused with nothing appended."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from shipnotify.config import Settings
from shipnotify.console import app as console_app
from shipnotify.console.resources import SESSIONS
from shipnotify.console.sessions import COOKIE, Viewer
from shipnotify.model import survey
from shipnotify.model.status import Status
from shipnotify.store import TrackingStore
from shipnotify.store.feedback import Case, FeedbackStore
from shipnotify.v1 import feedback_pb2 as fpb
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.v1 import survey_pb2 as spb
from shipnotify.web.event_log import EVENT_LOG
from tests.offsets import read_all

from .conftest import Api, eventually, running_tracker, unique
from .feedback_events import HOUR, answered, followed_up, now_ms, opened, produce_feedback, sent
from .test_console import sign_in
from .test_dead_letters import registration_event, status_event

ZONE = ZoneInfo("Europe/Chisinau")
PHONE = "+37369123456"  # the survey's: the recipient asked by SMS


@dataclass
class Console:
    client: Api
    settings: Settings
    redis: Redis
    csrf: str  # the session's form token

    @property
    def store(self) -> FeedbackStore:
        return FeedbackStore(self.redis, self.settings.opt_out_secret.encode())

    async def case(self, case_id: str) -> Case:
        found = await self.store.case(case_id)
        assert found is not None
        return found

    async def appended(self) -> list[fpb.FeedbackEvent]:
        records = await read_all(self.settings, self.settings.feedback_topic)
        return [fpb.FeedbackEvent.FromString(r.value) for r in records]


@pytest.fixture
async def console(settings: Settings, redis: Redis) -> AsyncIterator[Console]:
    settings = settings.with_(time_zone=ZONE.key)
    app = console_app.init_app(settings, redis=redis)
    async with running_tracker(settings), TestClient(TestServer(app)) as client:
        await eventually(lambda: _ready(app))
        yield Console(client, settings, redis, await sign_in(client))


async def _ready(app: object) -> bool:
    return bool(app[EVENT_LOG].ready)  # type: ignore[index]


async def delivered(redis: Redis, sid: str, account: str) -> list[pb.ShipmentEvent]:
    """A shipment of `account` ("": the carrier's) registered, picked up at the depot north
    and delivered, with its timeline in Redis."""
    events = [registration_event(sid)]
    events[0].registered.account_id = account
    for status, minutes in ((Status.PICKED_UP, 9), (Status.DELIVERED, 7)):
        event = status_event(sid, status)
        event.occurred_at.FromMilliseconds(now_ms() - minutes * 60_000)
        if status == Status.PICKED_UP:
            event.status_changed.location.depot = "north"
        events.append(event)
    await TrackingStore(redis).apply(events)
    return events


async def unhappy_case(
    console: Console,
    *,
    due_in_ms: int,
    depot: str,
    comment: str = "two hours late",
    account: str = "",
) -> tuple[str, str]:
    """A delivered shipment whose recipient answered 1 to the SMS survey and said why: the
    case the tracker opened from the feedback events (its id) and the shipment's id."""
    sid = unique("console-case")
    events = await delivered(console.redis, sid, account)
    sv = survey.survey_id(events[-1].event_id, npb.PARTY_ROLE_RECIPIENT)
    t = now_ms() - 5 * 60_000
    await produce_feedback(
        console.settings,
        [
            sent(sid, sv, t, address=PHONE),
            answered(sid, sv, t + 60_000, 1),
            opened(sid, sv, t + 60_000, due_ms=now_ms() + due_in_ms, depot=depot),
            followed_up(sid, sv, t + 120_000, spb.REASON_LATE, comment),
        ],
    )
    case_id = survey.case_id(sv)

    async def followed() -> bool:
        found = await console.store.case(case_id)
        return found is not None and found.follow_up is not None

    await eventually(followed)
    return case_id, sid


async def page(console: Console, path: str, status: int = 200) -> str:
    got = await console.client.get(path)
    html = await got.text()
    assert got.status == status, html
    return html


async def post(console: Console, path: str, form: dict[str, str]) -> tuple[int, str, str]:
    """(status, Location, body) of a form sent with the session's token unless it has one."""
    got = await console.client.post(
        path, data={"csrf": console.csrf, **form}, allow_redirects=False
    )
    return got.status, got.headers.get("Location", ""), await got.text()


def rows(html: str) -> list[str]:
    return re.findall(r'data-testid="case-row" data-case="([^"]+)"', html)


async def test_the_list_shows_open_cases_soonest_due_first_the_overdue_marked(
    console: Console,
) -> None:
    depot = unique("depot")
    later, _ = await unhappy_case(console, due_in_ms=8 * HOUR, depot=depot)
    late, _ = await unhappy_case(console, due_in_ms=-HOUR, depot=depot, comment="no call")
    soon, _ = await unhappy_case(console, due_in_ms=2 * HOUR, depot=depot)
    html = await page(console, f"/console/cases?lang=en&depot={depot}")
    assert rows(html) == [late, soon, later]
    row = html.split(f'data-case="{late}"', 1)[1].split("</tr>", 1)[0]
    assert 'data-testid="overdue"' in row
    assert "CSAT 1 · SMS · Recipient" in row
    assert "It was late" in row
    assert "no call" in row
    assert f'href="/console/cases/{late}?lang=en"' in row
    others = html.split(f'data-case="{soon}"', 1)[1]
    assert 'data-testid="overdue"' not in others  # the others are not overdue
    assert 'data-testid="overdue-count"' in html  # the nav counts the overdue

    overdue = await page(console, f"/console/cases?lang=en&depot={depot}&state=overdue")
    assert rows(overdue) == [late]
    closed = await page(console, f"/console/cases?lang=en&depot={depot}&state=closed")
    assert rows(closed) == []
    assert 'data-testid="no-cases"' in closed
    bad = await page(console, f"/console/cases?lang=en&depot={depot}&state=pending")
    assert 'data-testid="problem-state"' in bad
    assert rows(bad) == [late, soon, later]  # shown with the default, open ones
    ru = await page(console, f"/console/cases?lang=ru&depot={depot}")
    assert "Обратные звонки" in ru
    assert "просрочено" in ru


async def test_a_case_page_shows_the_timeline_and_the_phone_to_the_operator(
    console: Console,
) -> None:
    case_id, _ = await unhappy_case(console, due_in_ms=HOUR, depot=unique("depot"))
    html = await page(console, f"/console/cases/{case_id}?lang=en")
    steps = re.findall(r'<tr data-testid="step">.*?</tr>', html)
    assert [re.search(r"<td>([^<(]+)", s).group(1).strip() for s in steps] == [  # type: ignore[union-attr]
        "Registered",
        "Picked up",
        "Delivered",
    ]
    # the times in the carrier's zone
    offsets = set(re.findall(r'<time datetime="[^"]+([+-]\d\d:\d\d)">', html))
    assert offsets == {datetime.now(ZONE).strftime("%z")[:3] + ":00"}
    assert f'href="tel:{PHONE}"' in html
    assert "Ion Rusu" in html
    assert "Times in Europe/Chisinau." in html
    ro = await page(console, f"/console/cases/{case_id}?lang=ro")
    assert "Livrat" in ro


async def test_a_team_member_sees_its_accounts_cases_alone_and_no_phone(
    console: Console,
) -> None:
    depot, account = unique("depot"), f"acct_{uuid.uuid4().hex[:12]}"
    carriers, _ = await unhappy_case(console, due_in_ms=HOUR, depot=depot)
    own, _ = await unhappy_case(console, due_in_ms=2 * HOUR, depot=depot, account=account)
    token, mia = await console.client.app[SESSIONS].begin(Viewer("Mia", account=account))
    base = str(console.client.make_url("")).rstrip("/")
    async with aiohttp.ClientSession(base, headers={"Cookie": f"{COOKIE}={token}"}) as member:
        async with member.get(f"/console/cases/{carriers}?lang=en") as got:
            assert got.status == 404
        async with member.get(f"/console/cases/{own}?lang=en") as got:
            assert got.status == 200
            html = await got.text()
        assert 'data-testid="step"' in html
        assert "tel:" not in html  # whom to call: the operator's alone
        assert PHONE not in html
        async with member.get(f"/console/cases?lang=en&depot={depot}") as got:
            assert rows(await got.text()) == [own]
        async with member.post(
            f"/console/cases/{carriers}/take", data={"csrf": mia.csrf, "operator": "Mia"}
        ) as got:
            assert got.status == 404  # nor may it change another's
    assert (await console.case(carriers)).state == "open"
    assert rows(await page(console, f"/console/cases?lang=en&depot={depot}")) == [carriers, own]


async def test_take_note_and_close_from_the_forms_are_applied_and_shown(
    console: Console,
) -> None:
    case_id, sid = await unhappy_case(console, due_in_ms=HOUR, depot=unique("depot"))
    base = f"/console/cases/{case_id}"
    status, location, _ = await post(console, f"{base}/take?lang=en", {"operator": "Maria"})
    assert (status, location) == (303, f"{base}?lang=en&done=applied")
    assert (await console.case(case_id)).taken_by == "Maria"
    html = await page(console, location)
    assert 'data-testid="flash"' in html
    assert 'data-testid="taken-by">Maria<' in html

    status, location, _ = await post(
        console, f"{base}/note?lang=en", {"note": "Called.\nNo answer."}
    )
    assert (status, location) == (303, f"{base}?lang=en&done=applied")
    found = await console.case(case_id)
    assert [(n.operator, n.text) for n in found.notes] == [("Maria", "Called.\nNo answer.")]

    closing = {"outcome": "compensated", "cause": "depot", "note": "refunded"}
    status, location, _ = await post(console, f"{base}/close?lang=en", closing)
    assert (status, location) == (303, f"{base}?lang=en&done=applied")
    done = await console.case(case_id)
    assert done.state == "closed"
    assert done.closed is not None
    assert (done.closed.outcome, done.closed.cause, done.closed.note, done.closed.operator) == (
        spb.CASE_OUTCOME_COMPENSATED,
        spb.CASE_CAUSE_DEPOT,
        "refunded",
        "Maria",
    )
    html = await page(console, location)
    assert 'data-testid="outcome">Compensated<' in html
    assert 'data-testid="cause">The depot<' in html
    assert 'data-testid="close-form"' not in html  # a closed case has no forms

    ours = [e for e in await console.appended() if e.shipment_id == sid]
    changes = [
        e for e in ours if e.WhichOneof("body") in ("case_taken", "case_noted", "case_closed")
    ]
    assert [e.WhichOneof("body") for e in changes] == ["case_taken", "case_noted", "case_closed"]
    assert changes[2].event_id == survey.feedback_event_id("closed", case_id)
    assert all(uuid.UUID(e.event_id).version == 4 for e in changes[:2])
    assert changes[0].case_taken == fpb.CaseTaken(case_id=case_id, operator="Maria")


async def test_a_closed_case_takes_no_change(console: Console) -> None:
    case_id, _ = await unhappy_case(console, due_in_ms=HOUR, depot=unique("depot"))
    base = f"/console/cases/{case_id}"
    closing = {"outcome": "solved", "cause": "courier"}
    assert (await post(console, f"{base}/close?lang=en", closing))[0] == 303
    before = len(await console.appended())
    for action, form in (
        ("take", {"operator": "Ion"}),
        ("note", {"note": "later"}),
        ("close", {"outcome": "apologised", "cause": "other"}),
    ):
        status, _, html = await post(console, f"{base}/{action}?lang=en", form)
        assert status == 409, action
        assert 'data-testid="problem-case"' in html
        assert "The case is closed" in html
    assert len(await console.appended()) == before
    assert (await console.case(case_id)).taken_by == ""


@pytest.mark.parametrize("csrf", ["", "not-the-token"])
async def test_a_form_without_the_sessions_token_is_refused(console: Console, csrf: str) -> None:
    case_id, _ = await unhappy_case(console, due_in_ms=HOUR, depot=unique("depot"))
    before = len(await console.appended())
    base = f"/console/cases/{case_id}"
    for action, form in (
        ("take", {"operator": "Maria"}),
        ("note", {"note": "hello"}),
        ("close", {"outcome": "solved", "cause": "courier"}),
    ):
        status, _, _ = await post(console, f"{base}/{action}", {**form, "csrf": csrf})
        assert status == 403, action
    got = await console.client.post(f"{base}/take", data={"operator": "Maria"})
    assert got.status == 403  # no token at all
    assert len(await console.appended()) == before
    assert (await console.case(case_id)).state == "open"


async def test_an_unknown_case_is_a_404(console: Console) -> None:
    unknown = str(uuid.uuid4())
    await page(console, f"/console/cases/{unknown}", 404)
    await page(console, "/console/cases/not-a-case", 404)
    status, _, _ = await post(console, f"/console/cases/{unknown}/take", {"operator": "Maria"})
    assert status == 404
    assert await console.appended() == []


@pytest.mark.parametrize(
    ("action", "form", "field"),
    [
        ("take", {"operator": ""}, "operator"),
        ("take", {}, "operator"),
        ("take", {"operator": "M" * 101}, "operator"),
        ("note", {"note": ""}, "note"),
        ("note", {"note": "x" * 2001}, "note"),
        ("close", {"outcome": "solved", "cause": "weather"}, "cause"),
        ("close", {"outcome": "forgotten", "cause": "other"}, "outcome"),
        ("close", {"cause": "other"}, "outcome"),
    ],
)
async def test_a_bad_field_is_named_and_nothing_appended(
    console: Console, action: str, form: dict[str, str], field: str
) -> None:
    case_id, _ = await unhappy_case(console, due_in_ms=HOUR, depot=unique("depot"))
    before = len(await console.appended())
    status, _, html = await post(console, f"/console/cases/{case_id}/{action}?lang=en", form)
    assert status == 422, html
    assert f'data-testid="problem-{field}"' in html
    assert f'href="/console/cases/{case_id}?lang=ru"' in html  # the switch: to the case's page
    assert len(await console.appended()) == before
    assert (await console.case(case_id)).state == "open"
