"""The jobs an applied feedback event calls for (tracker/feedback_notices.py): the follow-up
after an unhappy SMS answer, the apology and the supervisor's alert when a case opens; who
gets them, on which channel, with which ids; and none where the contract says none."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import time

import pytest

from shipnotify.model import survey
from shipnotify.model.codec import TimelineEntry, entry_head
from shipnotify.model.status import AttemptFailure, Status
from shipnotify.store.feedback import Case, FeedbackApplied, Survey
from shipnotify.store.tracking import Shipment
from shipnotify.tracker.feedback_notices import feedback_jobs, unaddressed_alert
from shipnotify.v1 import feedback_pb2 as fpb
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.v1 import survey_pb2 as spb

T0 = 1_780_000_000_000
SURVEY = survey.survey_id("delivered-1", npb.PARTY_ROLE_RECIPIENT)
CASE = survey.case_id(SURVEY)
NORTH = survey.Depot("north", "boss@carrier.example", "Europe/Chisinau", time(18))
RULES = survey.Rules(depots={"north": NORTH})
SMS, EMAIL = pb.CHANNEL_SMS, pb.CHANNEL_EMAIL


def stored(
    status: Status, at_ms: int, depot: str = "", failure: AttemptFailure | None = None
) -> str:
    location = {"depot": depot} if depot else None
    return entry_head(TimelineEntry(status, at_ms, at_ms + 5, failure, location)) + "|1"


SHIPMENT = Shipment(
    shipment_id="s-1",
    tracking_id="TRACK1",
    status=Status.DELIVERED,
    status_at_ms=T0 - 3_600_000,
    version=4,
    timeline_raw=[
        stored(Status.DELIVERED, T0 - 3_600_000, "north").encode(),
        stored(Status.REGISTERED, T0 - 9_000_000).encode(),
        stored(
            Status.DELIVERY_ATTEMPTED,
            T0 - 7_200_000,
            "north",
            AttemptFailure.RECIPIENT_ABSENT,
        ).encode(),
    ],
)


def event(**body: object) -> fpb.FeedbackEvent:
    e = fpb.FeedbackEvent(event_id=str(uuid.uuid4()), shipment_id="s-1", **body)  # type: ignore[arg-type]
    e.occurred_at.FromMilliseconds(T0)
    e.recorded_at.FromMilliseconds(T0 + 40)
    return e


def sent_by(channel: int, address: str) -> fpb.SurveySent:
    return fpb.SurveySent(
        survey_id=SURVEY,
        party=npb.PARTY_ROLE_RECIPIENT,
        channel=channel,  # type: ignore[arg-type]
        scale=spb.SCALE_CSAT,
        address=address,
        name="Ion",
        locale="ru",
        time_zone="Europe/Chisinau",
        notification_id=survey.notice_id(SURVEY, "survey"),
    )


def answer(
    score: int = 1, source: int = spb.ANSWER_SOURCE_SMS, unhappy: bool = True
) -> fpb.SurveyAnswered:
    return fpb.SurveyAnswered(
        survey_id=SURVEY,
        scale=spb.SCALE_CSAT,
        score=score,
        source=source,  # type: ignore[arg-type]
        unhappy=unhappy,
    )


def a_survey(sent: fpb.SurveySent | None, said: fpb.SurveyAnswered | None = None) -> Survey:
    return Survey("s-1", SURVEY, sent=sent, sent_at_ms=T0 - 1000 if sent else None, answer=said)


def answered(survey_now: Survey, said: fpb.SurveyAnswered, **how: bool) -> FeedbackApplied:
    return FeedbackApplied(event(survey_answered=said), survey=survey_now, **how)  # type: ignore[arg-type]


def test_an_unhappy_sms_answer_calls_for_the_follow_up_by_sms() -> None:
    said = answer()
    done = answered(a_survey(sent_by(SMS, "+37369123456"), said), said, duplicate=False)
    [job] = feedback_jobs(done, RULES, SHIPMENT)
    assert job.kind == npb.NOTICE_KIND_FOLLOW_UP
    assert job.notification_id == survey.notice_id(SURVEY, "follow_up")
    assert (job.channel, job.address, job.name) == (SMS, "+37369123456", "Ion")
    assert (job.locale, job.time_zone, job.party) == (
        "ru",
        "Europe/Chisinau",
        npb.PARTY_ROLE_RECIPIENT,
    )
    assert (job.event_id, job.survey_id, job.scale) == (done.event.event_id, SURVEY, spb.SCALE_CSAT)
    assert job.planned_at.ToMilliseconds() == T0 + 40  # the event's recorded_at
    assert job.occurred_at.ToMilliseconds() == T0
    assert not job.HasField("not_before")
    assert (job.tracking_id, job.status, job.shipment_id) == ("TRACK1", pb.STATUS_DELIVERED, "s-1")
    # a redelivery plans the same job
    assert feedback_jobs(replace(done, duplicate=True), RULES, SHIPMENT) == [job]


@pytest.mark.parametrize(
    ("sent", "said", "kept_out"),
    [
        (sent_by(SMS, "+37369123456"), answer(score=5, unhappy=False), False),
        (sent_by(SMS, "+37369123456"), answer(source=spb.ANSWER_SOURCE_EMAIL), False),
        (sent_by(SMS, "+37369123456"), answer(source=spb.ANSWER_SOURCE_PAGE), False),
        (sent_by(EMAIL, "ion@example.com"), answer(), False),
        (sent_by(SMS, ""), answer(), False),  # the contacts were erased
        (None, answer(), False),
        (sent_by(SMS, "+37369123456"), answer(), True),  # past the survey's window
    ],
    ids=["happy", "by-email", "on-the-page", "email-survey", "erased", "never-sent", "late"],
)
def test_no_follow_up_but_after_an_unhappy_sms_answer_in_time(
    sent: fpb.SurveySent | None, said: fpb.SurveyAnswered, kept_out: bool
) -> None:
    done = answered(a_survey(sent, said), said, duplicate=False, kept_out=kept_out)
    assert feedback_jobs(done, RULES, SHIPMENT) == []


def a_case(depot: str = "north", follow_up: fpb.FollowUpAnswered | None = None) -> Case:
    return Case(
        case_id=CASE,
        shipment_id="s-1",
        survey_id=SURVEY,
        state="open",
        opened_at_ms=T0,
        due_at_ms=T0 + 8 * 3_600_000,
        depot=depot,
        courier_id="c-7",
        answer=answer(score=2),
        follow_up=follow_up,
    )


def case_opened(survey_now: Survey | None, case: Case, *, opened: bool = True) -> FeedbackApplied:
    body = fpb.CaseOpened(case_id=CASE, survey_id=SURVEY, depot=case.depot, courier_id="c-7")
    body.due_at.FromMilliseconds(case.due_at_ms)
    return FeedbackApplied(
        event(case_opened=body), duplicate=not opened, survey=survey_now, case=case, opened=opened
    )


def test_a_case_opened_calls_for_the_apology_and_the_supervisors_alert() -> None:
    follow_up = fpb.FollowUpAnswered(survey_id=SURVEY, reason=spb.REASON_LATE, comment="3 days")
    done = case_opened(
        a_survey(sent_by(EMAIL, "ion@example.com"), answer(2)), a_case(follow_up=follow_up)
    )
    apology, alert = feedback_jobs(done, RULES, SHIPMENT)
    assert apology.kind == npb.NOTICE_KIND_APOLOGY
    assert apology.notification_id == survey.notice_id(CASE, "apology")
    assert (apology.channel, apology.address, apology.locale) == (EMAIL, "ion@example.com", "ru")
    assert (apology.survey_id, apology.event_id) == (SURVEY, done.event.event_id)
    assert apology.planned_at.ToMilliseconds() == T0 + 40

    assert alert.kind == npb.NOTICE_KIND_CASE_ALERT
    assert alert.notification_id == survey.notice_id(CASE, "alert")
    assert (alert.channel, alert.address) == (EMAIL, "boss@carrier.example")
    assert (alert.locale, alert.time_zone) == ("en", "Europe/Chisinau")
    shown = alert.case_alert
    assert (shown.case_id, shown.depot, shown.courier_id) == (CASE, "north", "c-7")
    assert shown.due_at.ToMilliseconds() == T0 + 8 * 3_600_000
    assert (shown.scale, shown.score, shown.source) == (spb.SCALE_CSAT, 2, spb.ANSWER_SOURCE_SMS)
    assert (shown.reason, shown.comment) == (spb.REASON_LATE, "3 days")
    assert shown.party == npb.PARTY_ROLE_RECIPIENT
    assert (shown.customer_name, shown.customer_email, shown.customer_phone) == (
        "Ion",
        "ion@example.com",
        "",
    )
    assert [
        (e.status, e.occurred_at.ToMilliseconds(), e.depot, e.failure) for e in shown.timeline
    ] == [
        (pb.STATUS_REGISTERED, T0 - 9_000_000, "", 0),
        (
            pb.STATUS_DELIVERY_ATTEMPTED,
            T0 - 7_200_000,
            "north",
            pb.ATTEMPT_FAILURE_RECIPIENT_ABSENT,
        ),
        (pb.STATUS_DELIVERED, T0 - 3_600_000, "north", 0),
    ]
    # a second CaseOpened of the case plans the same notices
    again = feedback_jobs(replace(done, duplicate=True, opened=False), RULES, SHIPMENT)
    assert again == [apology, alert]
    assert not unaddressed_alert(done, RULES)


def test_an_answer_on_the_page_gets_the_alert_alone_with_no_customer_on_it() -> None:
    said = answer(score=1, source=spb.ANSWER_SOURCE_PAGE)
    case = replace(a_case(), answer=said)
    [alert] = feedback_jobs(case_opened(a_survey(None, said), case), RULES, None)
    shown = alert.case_alert
    assert (shown.party, shown.customer_name, shown.customer_phone) == (0, "", "")
    assert shown.source == spb.ANSWER_SOURCE_PAGE
    assert list(shown.timeline) == []
    assert (alert.tracking_id, alert.status) == ("", pb.STATUS_DELIVERED)  # the shipment is gone


def test_a_depot_nobody_supervises_gets_no_alert_and_is_told_of_once() -> None:
    done = case_opened(a_survey(sent_by(SMS, "+37369123456")), a_case(depot="south"))
    [apology] = feedback_jobs(done, RULES, SHIPMENT)
    assert (apology.kind, apology.channel) == (npb.NOTICE_KIND_APOLOGY, SMS)
    assert unaddressed_alert(done, RULES)
    assert not unaddressed_alert(replace(done, duplicate=True, opened=False), RULES)
    # "*" supervises every depot not named
    anywhere = survey.Depot("*", "care@carrier.example", "UTC", time(17))
    everywhere = survey.Rules(depots={"north": NORTH, "*": anywhere})
    alert = feedback_jobs(done, everywhere, SHIPMENT)[1]
    assert (alert.address, alert.time_zone, alert.case_alert.depot) == (
        "care@carrier.example",
        "UTC",
        "south",
    )
    assert not unaddressed_alert(done, everywhere)


def test_other_feedback_events_call_for_no_job() -> None:
    case = a_case()
    for body in (
        {"survey_sent": sent_by(SMS, "+37369123456")},
        {"follow_up_answered": fpb.FollowUpAnswered(survey_id=SURVEY, reason=spb.REASON_LATE)},
        {"case_taken": fpb.CaseTaken(case_id=CASE, operator="Mia")},
        {"case_closed": fpb.CaseClosed(case_id=CASE, operator="Mia")},
    ):
        done = FeedbackApplied(event(**body), duplicate=False, case=case, survey=a_survey(None))
        assert feedback_jobs(done, RULES, SHIPMENT) == []
