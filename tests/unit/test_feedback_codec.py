"""Reading the feedback topic's records (model/codec.py's decode_feedback): every kind of event
the parts append is read back; a record that cannot be applied is refused with the reason its
dead letter carries."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from shipnotify.model import survey
from shipnotify.model.codec import MalformedEvent, decode_feedback
from shipnotify.v1 import feedback_pb2 as fpb
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.v1 import survey_pb2 as spb

SURVEY = survey.survey_id("delivered-1", 2)


def event(**body: object) -> fpb.FeedbackEvent:
    e = fpb.FeedbackEvent(event_id=str(uuid.uuid4()), shipment_id="s-1", **body)  # type: ignore[arg-type]
    e.occurred_at.FromMilliseconds(1_780_000_000_000)
    e.recorded_at.FromMilliseconds(1_780_000_000_100)
    return e


def settled() -> fpb.NoticeSettled:
    notice = fpb.NoticeSettled(notification_id=str(uuid.uuid4()), channel=pb.CHANNEL_PUSH)
    notice.planned_at.FromMilliseconds(1_780_000_000_000)
    notice.tap_to_notice_ms = 0
    return notice


def receipt() -> fpb.NoticeReceipt:
    notice = fpb.NoticeReceipt(notification_id=str(uuid.uuid4()), delivered=True)
    notice.planned_at.FromMilliseconds(1_780_000_000_000)
    return notice


def opened() -> fpb.CaseOpened:
    case = fpb.CaseOpened(case_id=survey.case_id(SURVEY), survey_id=SURVEY, depot="north")
    case.due_at.FromMilliseconds(1_780_000_100_000)
    return case


VALID = [
    event(
        survey_sent=fpb.SurveySent(
            survey_id=SURVEY,
            party=npb.PARTY_ROLE_RECIPIENT,
            channel=pb.CHANNEL_SMS,
            scale=spb.SCALE_CSAT,
            address="+37369123456",
            notification_id=survey.notice_id(SURVEY, "survey"),
        )
    ),
    event(survey_answered=fpb.SurveyAnswered(survey_id=SURVEY, scale=spb.SCALE_NPS, score=0)),
    event(follow_up_answered=fpb.FollowUpAnswered(survey_id=SURVEY, reason=spb.REASON_OTHER)),
    event(case_opened=opened()),
    event(case_taken=fpb.CaseTaken(case_id="c-1", operator="Mia")),
    event(case_noted=fpb.CaseNoted(case_id="c-1", operator="Mia", note="called")),
    event(
        case_closed=fpb.CaseClosed(case_id="c-1", operator="Mia", outcome=spb.CASE_OUTCOME_SOLVED)
    ),
    event(notice_settled=settled()),
    event(notice_receipt=receipt()),
]


@pytest.mark.parametrize("given", VALID, ids=lambda e: e.WhichOneof("body"))
def test_every_kind_of_feedback_event_reads_back(given: fpb.FeedbackEvent) -> None:
    assert decode_feedback(given.SerializeToString()) == given


def _without(field: str) -> Callable[[fpb.FeedbackEvent], None]:
    return lambda e: e.ClearField(field)


def _set(path: str, value: object) -> Callable[[fpb.FeedbackEvent], None]:
    def change(e: fpb.FeedbackEvent) -> None:
        body, name = path.split(".")
        setattr(getattr(e, body), name, value)

    return change


@pytest.mark.parametrize(
    ("base", "spoil", "reason"),
    [
        (0, _set("survey_sent.survey_id", ""), "survey_sent.survey_id missing"),
        (0, _set("survey_sent.address", ""), "survey_sent.address missing"),
        (0, _set("survey_sent.channel", pb.CHANNEL_PUSH), "survey_sent.channel is neither"),
        (0, _set("survey_sent.scale", 0), "survey_sent.scale is not a scale"),
        (1, _set("survey_answered.score", 11), "survey_answered.score is off its scale"),
        (2, _set("follow_up_answered.reason", 0), "follow_up_answered.reason missing"),
        (3, lambda e: e.case_opened.ClearField("due_at"), "case_opened.due_at missing"),
        (3, _set("case_opened.case_id", ""), "case_opened.case_id missing"),
        (4, _set("case_taken.case_id", ""), "case_taken.case_id missing"),
        (7, _set("notice_settled.notification_id", ""), "notice_settled.notification_id missing"),
        (7, _set("notice_settled.channel", 0), "notice_settled.channel is not a channel"),
        (7, _set("notice_settled.channel", 99), "notice_settled.channel is not a channel"),
        (7, lambda e: e.notice_settled.ClearField("planned_at"), "notice_settled.planned_at"),
        (8, lambda e: e.notice_receipt.ClearField("planned_at"), "notice_receipt.planned_at"),
        (0, _without("survey_sent"), "event has no body"),
        (0, _without("recorded_at"), "recorded_at is missing"),
        (0, _without("occurred_at"), "occurred_at is missing"),
        (0, lambda e: setattr(e, "event_id", "7"), "event_id is not a UUID"),
        (0, lambda e: setattr(e, "shipment_id", ""), "shipment_id is empty"),
    ],
)
def test_a_record_that_cannot_be_applied_is_refused_with_its_reason(
    base: int, spoil: Callable[[fpb.FeedbackEvent], None], reason: str
) -> None:
    given = fpb.FeedbackEvent()
    given.CopyFrom(VALID[base])
    spoil(given)
    with pytest.raises(MalformedEvent) as refused:
        decode_feedback(given.SerializeToString())
    assert str(refused.value).startswith(reason)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [(b"", "empty record"), (None, "empty record"), (b"\xff\x01", "not a FeedbackEvent")],
)
def test_bytes_that_are_no_feedback_event_are_refused(raw: bytes | None, reason: str) -> None:
    with pytest.raises(MalformedEvent, match=f"^{reason}"):
        decode_feedback(raw)
