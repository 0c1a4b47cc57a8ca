"""The operators' call-back cases (behind an API key): list them (open, overdue, closed, by
depot or courier), read one with the shipment's timeline and whom to call, and take, note
and close one. A change is appended to the feedback topic (202) and the tracker's feedback
consumer applies it; a change to a closed case is refused (409), as the consumer would keep
it out."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from shipnotify.hooks import lookups
from shipnotify.hooks.resources import FEEDBACK, SETTINGS, TRACKING
from shipnotify.model import survey_names as names
from shipnotify.model.codec import TimelineEntry
from shipnotify.store.feedback import Case, CaseFilter, Survey
from shipnotify.store.tracking import Shipment
from shipnotify.v1 import feedback_pb2 as fpb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.web import ApiError, case_changes, json_response, parse_body, validation_error
from shipnotify.web import event_log as topics
from shipnotify.web.auth import check_api_key
from shipnotify.web.case_changes import CloseCase, NoteCase, TakeCase
from shipnotify.web.fields import Strict

PATH = "/v1/cases"
CASE_PATH = "/v1/cases/{case_id}"
MAX_LIMIT = 500

CaseId = Annotated[
    str,
    Field(
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        description="A case's id (a UUID, lower case).",
    ),
]
_CASE_ID: TypeAdapter[str] = TypeAdapter(CaseId)
Which = Literal["open", "overdue", "closed", "all"]


# -- what the API says ------------------------------------------------------------------------


class CaseAnswer(BaseModel):
    scale: str
    score: int
    source: str = Field(description="sms, email or page")
    party: str | None = Field(
        default=None, description="sender or recipient; none for the tracking page's answer"
    )


class CaseFollowUp(BaseModel):
    reason: str
    comment: str


class CaseNoteView(BaseModel):
    at: datetime
    operator: str
    note: str


class CaseClosure(BaseModel):
    outcome: str
    cause: str
    note: str
    at: datetime | None = None


class CaseView(BaseModel):
    case_id: str
    shipment_id: str
    tracking_id: str | None = None
    state: Literal["open", "in_progress", "closed"]
    overdue: bool
    opened_at: datetime
    due_at: datetime
    depot: str
    courier_id: str
    answer: CaseAnswer | None = None
    follow_up: CaseFollowUp | None = None
    taken_by: str
    notes: list[CaseNoteView]
    closed: CaseClosure | None = None


class CaseList(BaseModel):
    cases: list[CaseView]


class TimelineStep(BaseModel):
    status: str
    occurred_at: datetime
    depot: str | None = None
    failure: str | None = None


class Customer(BaseModel):
    """Whom to call: the person the survey asked (none for the tracking page's answer)."""

    name: str
    phone: str | None = None
    email: str | None = None


class CaseDetail(CaseView):
    timeline: list[TimelineStep]
    customer: Customer | None = None


class CaseChanged(BaseModel):
    case_id: str
    event_id: uuid.UUID


# -- what operators send ------------------------------------------------------------------------


class CaseQuery(Strict):
    state: Which = Field(
        default="open",
        description="open (open or in progress), overdue (not closed by their due time),"
        " closed, or all",
    )
    depot: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    courier: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    limit: int = Field(default=100, ge=1, le=MAX_LIMIT)


def query_parameters() -> list[dict[str, Any]]:
    """GET /v1/cases's query parameters, as the OpenAPI document states them."""
    schema = CaseQuery.model_json_schema()
    return [
        {
            "name": name,
            "in": "query",
            "required": False,
            "schema": {k: v for k, v in prop.items() if k != "description"},
            **({"description": prop["description"]} if "description" in prop else {}),
        }
        for name, prop in schema["properties"].items()
    ]


# -- handlers ------------------------------------------------------------------------------------


async def list_cases(request: web.Request) -> web.Response:
    _authorized(request)
    try:
        query = CaseQuery.model_validate({k: request.query.get(k) for k in request.query})
    except ValidationError as e:
        raise validation_error(e) from None
    which = CaseFilter(
        state=None if query.state == "all" else query.state,
        depot=query.depot,
        courier_id=query.courier,
        limit=query.limit,
    )
    now_ms = _now_ms()
    found = await lookups.read(request.app[FEEDBACK].cases(which, now_ms))
    views = await asyncio.gather(*(_view(request, case, now_ms) for case in found))
    return json_response(CaseList(cases=[view for view, _, _ in views]))


async def get_case(request: web.Request) -> web.Response:
    _authorized(request)
    case = await _case(request)
    view, asked, shipment = await _view(request, case, _now_ms())
    timeline = shipment.timeline if shipment is not None else []
    detail = CaseDetail(
        **view.model_dump(),
        timeline=[_step(entry) for entry in timeline],
        customer=_customer(asked),
    )
    return json_response(detail)


async def take(request: web.Request) -> web.Response:
    return await _change(request, TakeCase)


async def note(request: web.Request) -> web.Response:
    return await _change(request, NoteCase)


async def close(request: web.Request) -> web.Response:
    return await _change(request, CloseCase)


# -- helpers -------------------------------------------------------------------------------------


def _authorized(request: web.Request) -> None:
    check_api_key(request.headers.get("X-Api-Key"), request.app[SETTINGS].api_keys)


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


async def _case(request: web.Request) -> Case:
    case_id = request.match_info["case_id"]
    try:
        _CASE_ID.validate_python(case_id)
    except ValidationError as e:
        raise validation_error(e, prefix="case_id") from None
    case = await lookups.read(request.app[FEEDBACK].case(case_id))
    if case is None:
        raise ApiError(404, "not_found", "no case has this id", {"case_id": "unknown"})
    return case


async def _change(
    request: web.Request, kind: type[TakeCase] | type[NoteCase] | type[CloseCase]
) -> web.Response:
    _authorized(request)
    body = await parse_body(request, kind)
    case = case_changes.open_only(await _case(request))
    event = case_changes.change_event(case, body, datetime.now(UTC))
    await topics.append_feedback(request, [event])
    return json_response(CaseChanged(case_id=case.case_id, event_id=uuid.UUID(event.event_id)), 202)


async def _view(
    request: web.Request, case: Case, now_ms: int
) -> tuple[CaseView, Survey | None, Shipment | None]:
    """The case as the API shows it, with the survey and the shipment it was read with."""
    asked, shipment = await asyncio.gather(
        lookups.read(request.app[FEEDBACK].survey(case.shipment_id, case.survey_id)),
        lookups.read(request.app[TRACKING].shipment(case.shipment_id)),
    )
    answer = case.answer or (asked.answer if asked else None)
    follow_up = case.follow_up or (asked.follow_up if asked else None)
    party = asked.sent.party if asked is not None and asked.sent is not None else 0
    view = CaseView(
        case_id=case.case_id,
        shipment_id=case.shipment_id,
        tracking_id=(shipment.tracking_id or None) if shipment else None,
        state=case.state,
        overdue=case.overdue(now_ms),
        opened_at=_time(case.opened_at_ms),
        due_at=_time(case.due_at_ms),
        depot=case.depot,
        courier_id=case.courier_id,
        answer=_answer(answer, party) if answer is not None else None,
        follow_up=CaseFollowUp(
            reason=names.name_of(names.REASONS, follow_up.reason) or "other",
            comment=follow_up.comment,
        )
        if follow_up is not None
        else None,
        taken_by=case.taken_by,
        notes=[
            CaseNoteView(at=_time(n.at_ms), operator=n.operator, note=n.text) for n in case.notes
        ],
        closed=_closure(case),
    )
    return view, asked, shipment


def _answer(answer: fpb.SurveyAnswered, party: int) -> CaseAnswer:
    return CaseAnswer(
        scale=names.name_of(names.SCALES, answer.scale) or "",
        score=answer.score,
        source=names.name_of(names.SOURCES, answer.source) or "",
        party=names.name_of(names.PARTIES, party),
    )


def _closure(case: Case) -> CaseClosure | None:
    if case.closed is None:
        return None
    return CaseClosure(
        outcome=names.name_of(names.OUTCOMES, case.closed.outcome) or "",
        cause=names.name_of(names.CAUSES, case.closed.cause) or "",
        note=case.closed.note,
        at=_time(case.closed_at_ms) if case.closed_at_ms is not None else None,
    )


def _customer(asked: Survey | None) -> Customer | None:
    sent = asked.sent if asked is not None else None
    if sent is None:
        return None
    by_sms = sent.channel == pb.CHANNEL_SMS
    return Customer(
        name=sent.name,
        phone=sent.address if by_sms else None,
        email=None if by_sms else sent.address,
    )


def _step(entry: TimelineEntry) -> TimelineStep:
    place: Mapping[str, str] = entry.location or {}
    return TimelineStep(
        status=entry.status.value,
        occurred_at=_time(entry.occurred_at_ms),
        depot=place.get("depot"),
        failure=entry.failure.value if entry.failure else None,
    )


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
