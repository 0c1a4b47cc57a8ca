"""The feedback events the HTTP deployables append, made without I/O: an answer (with the
call-back case an unhappy one opens, appended together), a follow-up (hooks), and the
operators' changes of a case (hooks' case API, the console's forms). Their ids are the
contract's, so that a retried request appends the same events: a take or a note is a new
event each time, a case closes once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from shipnotify.model import survey
from shipnotify.v1 import feedback_pb2 as fpb
from shipnotify.v1 import shipment_events_pb2 as pb


@dataclass(frozen=True)
class Answer:
    """A score given to a survey."""

    shipment_id: str
    survey_id: str
    scale: int
    score: int
    source: int  # AnswerSource


def timestamp(at: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(at)
    return stamp


def envelope(event_id: str, shipment_id: str, now: datetime) -> fpb.FeedbackEvent:
    """An event of the shipment that happened now (hooks records it as it comes in)."""
    event = fpb.FeedbackEvent(event_id=event_id, shipment_id=shipment_id)
    event.occurred_at.CopyFrom(timestamp(now))
    event.recorded_at.CopyFrom(timestamp(now))
    return event


def answered(
    event_id: str,
    answer: Answer,
    rules: survey.Rules,
    now: datetime,
    context: tuple[str, str] | None,
) -> list[fpb.FeedbackEvent]:
    """SurveyAnswered, and when the score is unhappy (by the rules in force now) the
    CaseOpened of its survey's case, due by the depot's day or the set hours. `context`,
    (depot, courier id) of the shipment, is needed for an unhappy score alone."""
    unhappy = rules.is_unhappy(answer.scale, answer.score)
    event = envelope(event_id, answer.shipment_id, now)
    event.survey_answered.CopyFrom(
        fpb.SurveyAnswered(
            survey_id=answer.survey_id,
            scale=answer.scale,  # type: ignore[arg-type]
            score=answer.score,
            source=answer.source,  # type: ignore[arg-type]
            unhappy=unhappy,
        )
    )
    if not unhappy:
        return [event]
    if context is None:
        raise ValueError("an unhappy answer opens a case: its shipment's depot and courier")
    depot, courier_id = context
    due = survey.case_due(now, survey.depot_of(rules.depots, depot), rules.callback_hours)
    case = envelope(survey.feedback_event_id("case", event_id), answer.shipment_id, now)
    case.case_opened.CopyFrom(
        fpb.CaseOpened(
            case_id=survey.case_id(answer.survey_id),
            survey_id=answer.survey_id,
            due_at=timestamp(due),
            depot=depot,
            courier_id=courier_id,
        )
    )
    return [event, case]


def followed_up(
    event_id: str,
    shipment_id: str,
    survey_id: str,
    reason: int,
    comment: str,
    source: int,
    now: datetime,
) -> fpb.FeedbackEvent:
    event = envelope(event_id, shipment_id, now)
    event.follow_up_answered.CopyFrom(
        fpb.FollowUpAnswered(
            survey_id=survey_id,
            reason=reason,  # type: ignore[arg-type]
            comment=comment[: survey.MAX_COMMENT],
            source=source,  # type: ignore[arg-type]
        )
    )
    return event


def follow_up_id(source: str, *parts: str) -> str:
    """A follow-up's event id: from its message or form, as an answer's, but never the
    same as its answer's (an SMS's own message id names it; a form's nonce is its own)."""
    return survey.feedback_event_id("follow_up", source, *parts)


def case_taken(shipment_id: str, case_id: str, operator: str, now: datetime) -> fpb.FeedbackEvent:
    # (taken twice by one operator, as by a retry, it is theirs all the same)
    event = envelope(str(uuid.uuid4()), shipment_id, now)
    event.case_taken.CopyFrom(fpb.CaseTaken(case_id=case_id, operator=operator))
    return event


def case_noted(
    shipment_id: str, case_id: str, operator: str, note: str, now: datetime
) -> fpb.FeedbackEvent:
    event = envelope(str(uuid.uuid4()), shipment_id, now)
    event.case_noted.CopyFrom(fpb.CaseNoted(case_id=case_id, operator=operator, note=note))
    return event


def case_closed(
    shipment_id: str,
    case_id: str,
    operator: str,
    *,
    outcome: int,
    cause: int,
    note: str,
    now: datetime,
) -> fpb.FeedbackEvent:
    # a case closes once: a retried request is the same event
    event = envelope(survey.feedback_event_id("closed", case_id), shipment_id, now)
    event.case_closed.CopyFrom(
        fpb.CaseClosed(
            case_id=case_id,
            operator=operator,
            outcome=outcome,  # type: ignore[arg-type]
            cause=cause,  # type: ignore[arg-type]
            note=note,
        )
    )
    return event


def settled(
    shipment_id: str,
    notification_id: str,
    *,
    channel: pb.Channel,
    sent: bool,
    planned_ms: int,
    tap_to_notice_ms: int | None,
    account: str,
    now: datetime,
) -> fpb.FeedbackEvent:
    """A notice's final outcome, for its day's figures; told again, the same event."""
    event = envelope(survey.feedback_event_id("settled", notification_id), shipment_id, now)
    notice = event.notice_settled
    notice.notification_id, notice.channel, notice.sent = notification_id, channel, sent
    notice.planned_at.FromMilliseconds(planned_ms)
    notice.account_id = account
    if tap_to_notice_ms is not None:
        notice.tap_to_notice_ms = tap_to_notice_ms
    return event


def receipt(
    shipment_id: str, notification_id: str, *, planned_ms: int, delivered: bool, now: datetime
) -> fpb.FeedbackEvent:
    """An SMS's final delivery receipt, for its day's figures (a later one replaces it)."""
    event = envelope(
        survey.feedback_event_id("receipt", notification_id, str(delivered)), shipment_id, now
    )
    event.notice_receipt.notification_id = notification_id
    event.notice_receipt.planned_at.FromMilliseconds(planned_ms)
    event.notice_receipt.delivered = delivered
    return event
