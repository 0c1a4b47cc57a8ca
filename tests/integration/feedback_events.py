"""Feedback events as the notifier and hooks append them, for the tests of the feedback
store, the tracker's feedback consumer and the rebuild."""

from __future__ import annotations

import time
from collections.abc import Sequence

from shipnotify import kafka
from shipnotify.config import Settings
from shipnotify.model import survey
from shipnotify.v1 import feedback_pb2 as fpb
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.v1 import survey_pb2 as spb

HOUR, DAY = 3_600_000, 86_400_000
RECIPIENT = npb.PARTY_ROLE_RECIPIENT


def now_ms() -> int:
    return int(time.time() * 1000)


def feedback(sid: str, at_ms: int, *parts: str, **body: object) -> fpb.FeedbackEvent:
    """A feedback event of shipment `sid` at `at_ms`, its id made from `parts` as the
    producers make theirs (the same parts, the same event)."""
    event_id = survey.feedback_event_id(sid, str(at_ms), *parts)
    event = fpb.FeedbackEvent(event_id=event_id, shipment_id=sid, **body)  # type: ignore[arg-type]
    event.occurred_at.FromMilliseconds(at_ms)
    event.recorded_at.FromMilliseconds(at_ms + 20)
    return event


def sent(
    sid: str,
    survey_id: str,
    at_ms: int,
    *,
    channel: int = pb.CHANNEL_SMS,
    address: str = "+37369123456",
    party: int = RECIPIENT,
) -> fpb.FeedbackEvent:
    notification_id = survey.notice_id(survey_id, "survey")
    body = fpb.SurveySent(
        survey_id=survey_id,
        party=party,  # type: ignore[arg-type]
        channel=channel,  # type: ignore[arg-type]
        scale=spb.SCALE_CSAT,
        address=address,
        name="Ion Rusu",
        locale="ro",
        time_zone="Europe/Chisinau",
        notification_id=notification_id,
    )
    return feedback(sid, at_ms, "sent", notification_id, survey_sent=body)


def answered(
    sid: str,
    survey_id: str,
    at_ms: int,
    score: int,
    *,
    source: int = spb.ANSWER_SOURCE_SMS,
) -> fpb.FeedbackEvent:
    body = fpb.SurveyAnswered(
        survey_id=survey_id,
        scale=spb.SCALE_CSAT,
        score=score,
        source=source,  # type: ignore[arg-type]
        unhappy=survey.Rules().is_unhappy(spb.SCALE_CSAT, score),
    )
    return feedback(sid, at_ms, "answer", str(score), survey_answered=body)


def followed_up(
    sid: str, survey_id: str, at_ms: int, reason: int, comment: str = ""
) -> fpb.FeedbackEvent:
    body = fpb.FollowUpAnswered(
        survey_id=survey_id,
        reason=reason,  # type: ignore[arg-type]
        comment=comment,
        source=spb.ANSWER_SOURCE_SMS,
    )
    return feedback(sid, at_ms, "follow-up", follow_up_answered=body)


def opened(
    sid: str, survey_id: str, at_ms: int, *, due_ms: int, depot: str = "north", courier: str = "c-7"
) -> fpb.FeedbackEvent:
    body = fpb.CaseOpened(
        case_id=survey.case_id(survey_id), survey_id=survey_id, depot=depot, courier_id=courier
    )
    body.due_at.FromMilliseconds(due_ms)
    return feedback(sid, at_ms, "case", case_opened=body)


def taken(sid: str, case_id: str, at_ms: int, operator: str = "Mia") -> fpb.FeedbackEvent:
    return feedback(
        sid, at_ms, "taken", operator, case_taken=fpb.CaseTaken(case_id=case_id, operator=operator)
    )


def noted(sid: str, case_id: str, at_ms: int, note: str) -> fpb.FeedbackEvent:
    body = fpb.CaseNoted(case_id=case_id, operator="Mia", note=note)
    return feedback(sid, at_ms, "noted", note, case_noted=body)


def closed(sid: str, case_id: str, at_ms: int) -> fpb.FeedbackEvent:
    body = fpb.CaseClosed(
        case_id=case_id,
        operator="Mia",
        outcome=spb.CASE_OUTCOME_SOLVED,
        cause=spb.CASE_CAUSE_COURIER,
        note="apologised, redelivered",
    )
    return feedback(sid, at_ms, "closed", case_closed=body)


async def produce_feedback(settings: Settings, events: Sequence[fpb.FeedbackEvent]) -> None:
    """Appends the events to the feedback topic, keyed by shipment, as hooks and the
    notifier do; returns once Kafka has them all."""
    await kafka.ensure_topics(settings)
    producer = kafka.producer(settings)
    await producer.start()
    try:
        sender = kafka.KeyedSender(producer, settings.feedback_topic)
        for ack in await sender.send(
            [(e.shipment_id.encode(), e.SerializeToString(), []) for e in events]
        ):
            await ack
    finally:
        await producer.stop()
