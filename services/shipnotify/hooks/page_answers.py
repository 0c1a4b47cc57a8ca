"""The tracking page's question after delivery, answered: the page (status_api's, which is
read-only) posts the score here, and then, for an unhappy one, what went wrong. One survey a
shipment (survey.page_survey_id), whoever answers it; its nonce, made by the page for each
answer it sends, names the answer's event, so a retried POST appends the same event.

The page is served at SHIPNOTIFY_PUBLIC_URL, which may be another origin than hooks':
cors.py answers the preflight and marks the answers for that one origin, as for push."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, BeforeValidator, Field, TypeAdapter, ValidationError

from shipnotify.hooks import answers, lookups, survey_forms
from shipnotify.hooks.push import TrackingId
from shipnotify.hooks.resources import FEEDBACK, RULES, TRACKING
from shipnotify.model import feedback_events, survey
from shipnotify.model import survey_names as names
from shipnotify.model.status import Status
from shipnotify.v1 import survey_pb2 as spb
from shipnotify.web import ApiError, cors, json_response, parse_body, validation_error
from shipnotify.web.fields import Strict, whole

PATH = "/v1/answers/{tracking_id}"
FOLLOW_UP_PATH = "/v1/answers/{tracking_id}/follow-up"

# Made by the page (a UUID will do): what tells one answer of the page's from another.
Nonce = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{8,128}$")]
# Free text, its line breaks and tabs aside no control character.
Comment = Annotated[
    str, Field(max_length=survey.MAX_COMMENT, pattern=r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$")
]
ReasonName = Literal[
    "late", "not_informed", "damaged", "courier_manner", "missed_delivery", "other"
]
_LOWEST = min(low for low, _ in survey.RANGES.values())
_HIGHEST = max(high for _, high in survey.RANGES.values())
_TRACKING_ID: TypeAdapter[str] = TypeAdapter(TrackingId)


class PageAnswer(Strict):
    score: Annotated[int, BeforeValidator(whole)] = Field(
        ge=_LOWEST,
        le=_HIGHEST,
        description="On the scale in force (SHIPNOTIFY_SURVEY_SCALE): csat 1-5, nps 0-10,"
        " ces 1-7; a score off it is refused (422).",
    )
    nonce: Nonce


class PageFollowUp(Strict):
    reason: ReasonName
    comment: Comment = ""
    nonce: Nonce


class AnswerRecorded(BaseModel):
    unhappy: bool = Field(description="An unhappy score: the page offers the follow-up.")


class FollowUpRecorded(BaseModel):
    event_id: uuid.UUID


async def page_answer(request: web.Request) -> web.Response:
    body = await parse_body(request, PageAnswer)
    shipment_id = await _delivered(request)
    rules = request.app[RULES]
    if not survey.in_scale(rules.scale, body.score):
        problem = survey_forms.score_problem(rules.scale).say()
        raise ApiError(422, "invalid_field", f"score: {problem}", {"score": problem})
    survey_id = await _open_survey(request, shipment_id)
    unhappy = await answers.record(
        request,
        survey.feedback_event_id("page", shipment_id, body.nonce),
        feedback_events.Answer(
            shipment_id, survey_id, rules.scale, body.score, spb.ANSWER_SOURCE_PAGE
        ),
        datetime.now(UTC),
    )
    return json_response(AnswerRecorded(unhappy=unhappy), 202)


async def page_follow_up(request: web.Request) -> web.Response:
    body = await parse_body(request, PageFollowUp)
    shipment_id = await _delivered(request)
    survey_id = await _open_survey(request, shipment_id)
    event_id = feedback_events.follow_up_id("page", shipment_id, body.nonce)
    await answers.record_follow_up(
        request,
        event_id,
        shipment_id,
        survey_id,
        names.REASONS[body.reason],
        body.comment,
        spb.ANSWER_SOURCE_PAGE,
        datetime.now(UTC),
    )
    return json_response(FollowUpRecorded(event_id=uuid.UUID(event_id)), 202)


async def answer_preflight(request: web.Request) -> web.Response:
    return await cors.preflight(request)


async def follow_up_preflight(request: web.Request) -> web.Response:
    return await cors.preflight(request)


async def _delivered(request: web.Request) -> str:
    """The shipment the path's tracking id names (404), once delivered (409 before)."""
    try:
        tracking_id = _TRACKING_ID.validate_python(request.match_info["tracking_id"])
    except ValidationError as e:
        raise validation_error(e, prefix="tracking_id") from None
    shipment_id = await lookups.shipment_of(request, tracking_id)
    shipment = await lookups.read(request.app[TRACKING].shipment(shipment_id))
    if shipment is None:
        raise ApiError(
            404, "not_found", "no shipment has this tracking id", {"tracking_id": "unknown"}
        )
    if shipment.status is not Status.DELIVERED:
        raise ApiError(
            409,
            "not_delivered",
            "the shipment is not delivered: its survey comes after delivery",
            {"tracking_id": f"status {shipment.status.value}"},
        )
    return shipment_id


async def _open_survey(request: web.Request, shipment_id: str) -> str:
    """The shipment's page survey, while it takes answers (410 after)."""
    survey_id = survey.page_survey_id(shipment_id)
    asked = await lookups.read(request.app[FEEDBACK].survey(shipment_id, survey_id))
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    if asked is not None and not asked.takes_answers(now_ms, request.app[RULES].answer_days):
        raise ApiError(
            410, "survey_closed", "the survey takes no more answers", {"tracking_id": "closed"}
        )
    return survey_id
