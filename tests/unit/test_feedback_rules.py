"""What feedback events do to a shipment's surveys and cases (store/feedback_rules.py), without
Redis: each once by its event id, answers in time by their own time, cases through their
states, an erasure's leftovers; and the records as Redis keeps them (feedback_records.py)."""

from __future__ import annotations

import uuid

import pytest

from shipnotify.model import survey
from shipnotify.store import feedback_rules
from shipnotify.store.feedback_records import (
    Case,
    CaseNote,
    FeedbackApplied,
    Survey,
    case_from_record,
    case_record,
    survey_from_record,
    survey_record,
)
from shipnotify.store.feedback_rules import APPLIED, KEPT_OUT, ShipmentFeedback
from shipnotify.v1 import feedback_pb2 as fpb
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.v1 import survey_pb2 as spb

DAY = 86_400_000
T0 = 1_780_000_000_000
SURVEY = survey.survey_id("delivered-1", npb.PARTY_ROLE_RECIPIENT)
CASE = survey.case_id(SURVEY)


def event(at_ms: int, **body: object) -> fpb.FeedbackEvent:
    e = fpb.FeedbackEvent(event_id=str(uuid.uuid4()), shipment_id="s-1", **body)  # type: ignore[arg-type]
    e.occurred_at.FromMilliseconds(at_ms)
    e.recorded_at.FromMilliseconds(at_ms + 10)
    return e


def sent(at_ms: int = T0, survey_id: str = SURVEY) -> fpb.FeedbackEvent:
    return event(
        at_ms,
        survey_sent=fpb.SurveySent(
            survey_id=survey_id,
            party=npb.PARTY_ROLE_RECIPIENT,
            channel=pb.CHANNEL_SMS,
            scale=spb.SCALE_CSAT,
            address="+37369123456",
            name="Ion",
            locale="ro",
            notification_id=survey.notice_id(survey_id, "survey"),
        ),
    )


def answered(
    at_ms: int, score: int, survey_id: str = SURVEY, scale: int = spb.SCALE_CSAT, **extra: object
) -> fpb.FeedbackEvent:
    answer = fpb.SurveyAnswered(survey_id=survey_id, scale=scale, score=score, **extra)  # type: ignore[arg-type]
    return event(at_ms, survey_answered=answer)


def opened(at_ms: int, survey_id: str = SURVEY) -> fpb.FeedbackEvent:
    case = fpb.CaseOpened(
        case_id=survey.case_id(survey_id), survey_id=survey_id, depot="north", courier_id="c-7"
    )
    case.due_at.FromMilliseconds(at_ms + 8 * 3_600_000)
    return event(at_ms, case_opened=case)


def apply(state: ShipmentFeedback, e: fpb.FeedbackEvent) -> FeedbackApplied:
    return feedback_rules.apply(state, e, answer_days=7)


def score(state: ShipmentFeedback, survey_id: str) -> int:
    answer = state.surveys[survey_id].answer
    assert answer is not None
    return answer.score


def test_each_event_counts_once_and_a_duplicate_reports_what_now_stands() -> None:
    state = ShipmentFeedback("s-1")
    first_sent = sent()
    done = apply(state, first_sent)
    assert (done.duplicate, done.kept_out) == (False, False)
    assert done.survey is not None
    assert done.survey.sent == first_sent.survey_sent
    assert done.survey.sent_at_ms == T0
    answer = answered(T0 + DAY, 2, unhappy=True, source=spb.ANSWER_SOURCE_SMS)
    apply(state, answer)
    assert state.newly_applied == {first_sent.event_id: APPLIED, answer.event_id: APPLIED}
    state.changed_surveys.clear()
    again = apply(state, first_sent)
    assert again.duplicate
    assert again.survey == state.surveys[SURVEY]
    assert again.survey is not None
    assert again.survey.answer == answer.survey_answered
    assert state.changed_surveys == set()  # a duplicate changes nothing
    assert len(state.newly_applied) == 2


def test_a_later_answer_replaces_the_earlier_within_the_window_and_is_kept_out_after() -> None:
    state = ShipmentFeedback("s-1")
    apply(state, sent())
    apply(state, answered(T0 + DAY, 2))
    later = apply(state, answered(T0 + 6 * DAY, 4))
    assert not later.kept_out
    assert later.survey is not None
    assert later.survey.answer is not None
    assert (later.survey.answer.score, later.survey.answered_at_ms) == (4, T0 + 6 * DAY)
    assert later.survey.first_answered_at_ms == T0 + DAY
    # past the window, counted from when it was sent
    late = answered(T0 + 7 * DAY + 1, 1)
    kept = apply(state, late)
    assert kept.kept_out
    assert state.newly_applied[late.event_id] == KEPT_OUT
    assert score(state, SURVEY) == 4
    assert apply(state, late).kept_out  # and so does its redelivery
    # an answer older than the current one (arrived late) does not undo it
    assert apply(state, answered(T0 + 2 * DAY, 5)).kept_out
    assert score(state, SURVEY) == 4


def test_the_page_question_takes_answers_for_a_window_from_its_first_answer() -> None:
    page = survey.page_survey_id("s-1")
    state = ShipmentFeedback("s-1")
    first = apply(state, answered(T0, 3, page, source=spb.ANSWER_SOURCE_PAGE))
    assert first.survey is not None
    assert first.survey.sent is None
    assert not apply(state, answered(T0 + 5 * DAY, 2, page)).kept_out
    assert not apply(state, answered(T0 + 6 * DAY, 1, page)).kept_out
    assert apply(state, answered(T0 + 7 * DAY, 5, page)).kept_out  # not a sliding window
    assert score(state, page) == 1


def test_a_follow_up_is_the_surveys_and_its_cases_and_a_later_one_replaces() -> None:
    state = ShipmentFeedback("s-1")
    orphan = event(
        T0, follow_up_answered=fpb.FollowUpAnswered(survey_id="unknown", reason=spb.REASON_LATE)
    )
    assert apply(state, orphan).kept_out
    apply(state, sent())
    apply(state, answered(T0 + 1000, 1, unhappy=True))
    apply(state, opened(T0 + 1000))
    first = fpb.FollowUpAnswered(survey_id=SURVEY, reason=spb.REASON_LATE)
    apply(state, event(T0 + 2000, follow_up_answered=first))
    second = fpb.FollowUpAnswered(survey_id=SURVEY, reason=spb.REASON_OTHER, comment="rude")
    done = apply(state, event(T0 + 3000, follow_up_answered=second))
    assert done.survey is not None
    assert done.survey.follow_up == second
    assert done.case is not None
    assert done.case.follow_up == second
    assert done.case.answer is not None
    assert done.case.answer.score == 1
    assert CASE in state.changed_cases  # the case lives on with its survey


def test_a_case_opens_once_and_goes_through_its_states() -> None:
    state = ShipmentFeedback("s-1")
    apply(state, sent())
    first = apply(state, opened(T0 + 1000))
    assert first.opened
    assert first.case is not None
    assert (first.case.state, first.case.depot, first.case.courier_id) == ("open", "north", "c-7")
    assert first.case.opened_at_ms == T0 + 1000
    assert first.case.due_at_ms == T0 + 1000 + 8 * 3_600_000
    # another CaseOpened of the case (another answer of the survey): no change, not opened
    second = apply(state, opened(T0 + 5000))
    assert not second.opened
    assert not second.kept_out
    assert second.case == first.case
    taken = apply(state, event(T0 + 6000, case_taken=fpb.CaseTaken(case_id=CASE, operator="Mia")))
    assert taken.case is not None
    assert (taken.case.state, taken.case.taken_by) == (
        "in_progress",
        "Mia",
    )
    note = fpb.CaseNoted(case_id=CASE, operator="Mia", note="called, no answer")
    noted = apply(state, event(T0 + 7000, case_noted=note))
    assert noted.case is not None
    assert noted.case.notes == (CaseNote(T0 + 7000, "Mia", "called, no answer"),)
    close = fpb.CaseClosed(
        case_id=CASE,
        operator="Mia",
        outcome=spb.CASE_OUTCOME_APOLOGISED,
        cause=spb.CASE_CAUSE_DEPOT,
        note="sorry",
    )
    closed = apply(state, event(T0 + 8000, case_closed=close))
    assert closed.case is not None
    assert closed.case.state == "closed"
    assert (closed.case.closed, closed.case.closed_at_ms) == (close, T0 + 8000)
    assert closed.case.notes == noted.case.notes
    assert closed.case.taken_by == "Mia"
    # a closed case takes no more changes, and an unknown one none at all
    for change in (
        event(T0 + 9000, case_noted=fpb.CaseNoted(case_id=CASE, operator="Ana", note="again")),
        event(T0 + 9000, case_taken=fpb.CaseTaken(case_id=CASE, operator="Ana")),
        event(T0 + 9000, case_closed=fpb.CaseClosed(case_id="unknown", operator="Ana")),
    ):
        assert apply(state, change).kept_out
    assert state.cases[CASE].state == "closed"
    assert len(state.cases[CASE].notes) == 1
    assert state.cases[CASE].taken_by == "Mia"


def test_a_survey_sent_before_the_contacts_were_erased_is_kept_without_them() -> None:
    state = ShipmentFeedback("s-1", erased_at_ms=T0 + 1000)
    before = apply(state, sent(T0))
    assert before.survey is not None
    assert before.survey.sent is not None
    assert (before.survey.sent.address, before.survey.sent.name) == ("", "")
    assert before.survey.sent.locale == "ro"  # what is no one's stays
    after = apply(state, sent(T0 + 2000, survey.survey_id("delivered-2", 1)))
    assert after.survey is not None
    assert after.survey.sent is not None
    assert after.survey.sent.address == "+37369123456"


def test_an_erasure_takes_every_surveys_person_and_number_hash() -> None:
    state = ShipmentFeedback("s-1")
    apply(state, sent())
    state.sms_digests[SURVEY] = "hash-of-the-number"
    state.changed_surveys.clear()
    feedback_rules.erase(state, T0 + 5000)
    kept = state.surveys[SURVEY].sent
    assert kept is not None
    assert (kept.address, kept.name, kept.scale) == ("", "", spb.SCALE_CSAT)
    assert state.sms_digests == {}
    assert state.changed_surveys == {SURVEY}
    assert state.erased_at_ms == T0 + 5000


@pytest.mark.parametrize("score", [0, 7])
def test_records_read_back_as_written(score: int) -> None:
    state = ShipmentFeedback("s-1")
    apply(state, sent())
    apply(state, answered(T0 + 1, score, scale=spb.SCALE_NPS))
    apply(state, opened(T0 + 2))
    apply(state, event(T0 + 3, case_noted=fpb.CaseNoted(case_id=CASE, operator="Mia", note='é|"')))
    written: Survey = state.surveys[SURVEY]
    raw = survey_record(written, sms_digest="h1")
    assert survey_from_record("s-1", SURVEY, raw) == (written, "h1")
    assert b": " not in raw
    assert b", " not in raw
    case: Case = state.case_view(state.cases[CASE])  # type: ignore[assignment]
    assert case_from_record("s-1", CASE, case_record(case), written) == case
    assert case_from_record("s-1", CASE, case_record(case), None).answer is None
