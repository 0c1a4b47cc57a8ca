"""The operators' call-back cases through hooks: listed and filtered, read with the
shipment's timeline (the tracker's, in redis-server) and whom to call, taken, noted and
closed onto the real feedback topic; the API key, unknown and closed cases, and bad fields.
The cases are a FakeFeedback's (the tracker's consumer keeps the real ones)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest
from redis.asyncio import Redis

from shipnotify.model import survey
from shipnotify.model.status import Status
from shipnotify.store.feedback import Case, CaseNote, Survey
from shipnotify.v1 import feedback_pb2 as fpb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.v1 import survey_pb2 as spb
from tests.fake_feedback import answered, case_of, followed_up, now_ms, sent

from .survey_hooks import Hooks, hooks
from .test_page_answers import shipment_at

__all__ = ["hooks"]  # the fixture
KEY = {"X-Api-Key": "test-key"}  # the settings' operator key


async def unhappy_by_sms(hooks: Hooks, redis: Redis, **case: Any) -> tuple[Case, str]:
    """A delivered shipment whose recipient answered 1 by SMS and said why: its case and
    tracking id."""
    shipment_id, tracking_id = await shipment_at(hooks, redis, Status.PICKED_UP, Status.DELIVERED)
    asked = sent(shipment_id, address="+37369000111", name="Ion Rusu")
    asked = answered(asked, 1, unhappy=True, source=spb.ANSWER_SOURCE_SMS)
    asked = hooks.feedback.put(followed_up(asked, spb.REASON_LATE, "two hours late"))
    return hooks.feedback.put_case(case_of(asked, **case)), tracking_id


async def get(hooks: Hooks, path: str, headers: dict[str, str] = KEY) -> tuple[int, Any]:
    resp = await hooks.client.get(path, headers=headers)
    return resp.status, await resp.json()


async def post(
    hooks: Hooks, path: str, body: dict[str, Any], headers: dict[str, str] = KEY
) -> tuple[int, Any]:
    resp = await hooks.client.post(path, json=body, headers=headers)
    return resp.status, await resp.json()


async def test_every_case_route_wants_an_operators_key(hooks: Hooks, redis: Redis) -> None:
    case, _ = await unhappy_by_sms(hooks, redis)
    base = f"/v1/cases/{case.case_id}"
    bodies = {
        "take": {"operator": "Maria"},
        "notes": {"operator": "Maria", "note": "called"},
        "close": {"operator": "Maria", "outcome": "solved", "cause": "courier"},
    }
    for headers in ({}, {"X-Api-Key": ""}, {"X-Api-Key": "not-the-key"}):
        for path in ("/v1/cases", base):
            status, error = await get(hooks, path, headers)
            assert (status, error["fields"]) == (401, {"X-Api-Key": "unknown"}), path
        for action, body in bodies.items():
            status, _ = await post(hooks, f"{base}/{action}", body, headers)
            assert status == 401, action
    assert await hooks.appended() == []
    assert (await get(hooks, "/v1/cases"))[0] == 200  # the control


async def test_a_case_is_listed_with_its_answer_and_follow_up(hooks: Hooks, redis: Redis) -> None:
    case, tracking_id = await unhappy_by_sms(hooks, redis)
    status, body = await get(hooks, "/v1/cases")
    assert status == 200
    [view] = body["cases"]
    assert view == {
        "case_id": case.case_id,
        "shipment_id": case.shipment_id,
        "tracking_id": tracking_id,
        "state": "open",
        "overdue": False,
        "opened_at": view["opened_at"],  # (below)
        "due_at": view["due_at"],
        "depot": "north",
        "courier_id": "c-17",
        "answer": {"scale": "csat", "score": 1, "source": "sms", "party": "recipient"},
        "follow_up": {"reason": "late", "comment": "two hours late"},
        "taken_by": "",
        "notes": [],
    }
    for name, ms in (("opened_at", case.opened_at_ms), ("due_at", case.due_at_ms)):
        assert view[name].endswith("Z")  # ISO 8601, UTC
        assert datetime.fromisoformat(view[name]).timestamp() * 1000 == pytest.approx(ms, abs=1)


async def test_cases_are_filtered_by_state_depot_and_courier(hooks: Hooks, redis: Redis) -> None:
    late, _ = await unhappy_by_sms(hooks, redis, due_in_ms=-60_000, depot="north")
    soon, _ = await unhappy_by_sms(hooks, redis, depot="south", courier_id="c-9")
    done, _ = await unhappy_by_sms(
        hooks,
        redis,
        state="closed",
        closed=fpb.CaseClosed(
            outcome=spb.CASE_OUTCOME_APOLOGISED,
            cause=spb.CASE_CAUSE_TRANSPORT,
            note="sorry",
            operator="Maria",
        ),
    )

    async def ids(query: str) -> list[str]:
        status, body = await get(hooks, f"/v1/cases{query}")
        assert status == 200, body
        return [c["case_id"] for c in body["cases"]]

    assert await ids("") == await ids("?state=open") == [late.case_id, soon.case_id]
    assert await ids("?state=overdue") == [late.case_id]
    assert await ids("?state=closed") == [done.case_id]
    assert set(await ids("?state=all")) == {late.case_id, soon.case_id, done.case_id}
    assert await ids("?depot=south") == [soon.case_id]
    assert await ids("?courier=c-9&state=all") == [soon.case_id]
    assert await ids("?limit=1") == [late.case_id]
    _, body = await get(hooks, "/v1/cases?state=overdue")
    assert body["cases"][0]["overdue"] is True
    _, body = await get(hooks, "/v1/cases?state=closed")
    closed = body["cases"][0]
    assert closed["state"] == "closed"
    assert closed["closed"]["outcome"] == "apologised"
    assert closed["closed"]["cause"] == "transport"
    assert closed["closed"]["note"] == "sorry"
    assert closed["closed"]["at"].endswith("Z")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?state=pending", "state"),
        ("?limit=0", "limit"),
        ("?limit=501", "limit"),
        ("?limit=ten", "limit"),
        ("?depot=", "depot"),
        ("?sort=due", "sort"),
    ],
)
async def test_a_bad_query_is_refused_naming_it(hooks: Hooks, query: str, field: str) -> None:
    status, error = await get(hooks, f"/v1/cases{query}")
    assert status == 422
    assert field in error["fields"]


async def test_a_case_is_read_with_its_timeline_and_whom_to_call(
    hooks: Hooks, redis: Redis
) -> None:
    case, tracking_id = await unhappy_by_sms(
        hooks, redis, state="in_progress", notes=(CaseNote(now_ms(), "Maria", "no answer"),)
    )
    status, body = await get(hooks, f"/v1/cases/{case.case_id}")
    assert status == 200
    assert body["tracking_id"] == tracking_id
    assert (body["state"], body["taken_by"]) == ("in_progress", "Maria")
    assert [(n["operator"], n["note"]) for n in body["notes"]] == [("Maria", "no answer")]
    assert [step["status"] for step in body["timeline"]] == ["registered", "picked_up", "delivered"]
    assert all(step["occurred_at"].endswith("Z") for step in body["timeline"])
    assert body["customer"] == {"name": "Ion Rusu", "phone": "+37369000111"}


async def test_an_email_surveys_customer_has_an_email_and_a_page_answer_has_none(
    hooks: Hooks, redis: Redis
) -> None:
    shipment_id, _ = await shipment_at(hooks, redis, Status.DELIVERED)
    by_email = sent(shipment_id, channel=pb.CHANNEL_EMAIL, address="ana@example.com", name="Ana")
    by_email = answered(by_email, 2, unhappy=True, source=spb.ANSWER_SOURCE_EMAIL)
    emailed = hooks.feedback.put_case(case_of(hooks.feedback.put(by_email)))
    status, body = await get(hooks, f"/v1/cases/{emailed.case_id}")
    assert status == 200
    assert body["customer"] == {"name": "Ana", "email": "ana@example.com"}
    page = Survey(shipment_id, survey.page_survey_id(shipment_id), None, None)
    page = answered(page, 1, unhappy=True, source=spb.ANSWER_SOURCE_PAGE)
    from_page = hooks.feedback.put_case(case_of(hooks.feedback.put(page)))
    status, body = await get(hooks, f"/v1/cases/{from_page.case_id}")
    assert status == 200
    assert "customer" not in body
    assert body["answer"] == {"scale": "csat", "score": 1, "source": "page"}  # no party


async def test_an_unknown_or_malformed_case_id_is_refused(hooks: Hooks) -> None:
    unknown = str(uuid.uuid4())
    status, error = await get(hooks, f"/v1/cases/{unknown}")
    assert (status, error["fields"]) == (404, {"case_id": "unknown"})
    status, error = await post(hooks, f"/v1/cases/{unknown}/take", {"operator": "Maria"})
    assert (status, error["fields"]) == (404, {"case_id": "unknown"})
    status, error = await get(hooks, "/v1/cases/not-a-case")
    assert status == 422
    assert "case_id" in error["fields"]
    assert await hooks.appended() == []


async def test_taking_noting_and_closing_append_the_changes(hooks: Hooks, redis: Redis) -> None:
    case, _ = await unhappy_by_sms(hooks, redis)
    base = f"/v1/cases/{case.case_id}"
    status, taken = await post(hooks, f"{base}/take", {"operator": "Maria"})
    assert status == 202
    status, noted = await post(
        hooks, f"{base}/notes", {"operator": "Maria", "note": "Called.\nNo answer."}
    )
    assert status == 202
    closing = {"operator": "Maria", "outcome": "compensated", "cause": "depot", "note": "refunded"}
    status, closed = await post(hooks, f"{base}/close", closing)
    assert status == 202
    status, again = await post(hooks, f"{base}/close", closing)  # a retry
    assert (status, again) == (202, closed)
    events = await hooks.appended()
    assert [e.event_id for e in events] == [
        taken["event_id"],
        noted["event_id"],
        closed["event_id"],
        closed["event_id"],
    ]
    assert all(e.shipment_id == case.shipment_id for e in events)
    assert events[0].case_taken == fpb.CaseTaken(case_id=case.case_id, operator="Maria")
    assert events[1].case_noted == fpb.CaseNoted(
        case_id=case.case_id, operator="Maria", note="Called.\nNo answer."
    )
    assert events[2].case_closed == fpb.CaseClosed(
        case_id=case.case_id,
        operator="Maria",
        outcome=spb.CASE_OUTCOME_COMPENSATED,
        cause=spb.CASE_CAUSE_DEPOT,
        note="refunded",
    )
    assert closed["case_id"] == case.case_id


async def test_a_closed_case_takes_no_change(hooks: Hooks, redis: Redis) -> None:
    case, _ = await unhappy_by_sms(hooks, redis, state="closed", closed=fpb.CaseClosed())
    base = f"/v1/cases/{case.case_id}"
    for action, body in (
        ("take", {"operator": "Maria"}),
        ("notes", {"operator": "Maria", "note": "later"}),
        ("close", {"operator": "Maria", "outcome": "solved", "cause": "other"}),
    ):
        status, error = await post(hooks, f"{base}/{action}", body)
        assert (status, error["error"]) == (409, "case_closed"), action
    assert await hooks.appended() == []


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("take", {}, "operator"),
        ("take", {"operator": ""}, "operator"),
        ("take", {"operator": "Maria\nBcc"}, "operator"),
        ("take", {"operator": "M" * 101}, "operator"),
        ("notes", {"operator": "Maria"}, "note"),
        ("notes", {"operator": "Maria", "note": ""}, "note"),
        ("notes", {"operator": "Maria", "note": "x" * 2001}, "note"),
        ("close", {"operator": "Maria", "outcome": "forgotten", "cause": "other"}, "outcome"),
        ("close", {"operator": "Maria", "outcome": "solved", "cause": "weather"}, "cause"),
        ("close", {"operator": "Maria", "cause": "other"}, "outcome"),
        ("close", {"operator": "Maria", "outcome": "solved", "cause": "other", "x": 1}, "x"),
    ],
)
async def test_a_bad_change_is_refused_naming_the_field(
    hooks: Hooks, redis: Redis, action: str, body: dict[str, Any], field: str
) -> None:
    case, _ = await unhappy_by_sms(hooks, redis)
    status, error = await post(hooks, f"/v1/cases/{case.case_id}/{action}", body)
    assert status == 422, error
    assert field in error["fields"], error
    assert await hooks.appended() == []
