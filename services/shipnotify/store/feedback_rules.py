"""What a feedback event does to its shipment's surveys and cases: the decisions of
FeedbackStore.apply, apart from Redis. Each event counts once, by its id; an event's own
time (occurred_at), never the clock, decides whether an answer is in time, so that a
redelivery or a rebuild decides the same. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from shipnotify.model.survey import case_id as case_of
from shipnotify.store.feedback_records import (
    Case,
    CaseNote,
    FeedbackApplied,
    Survey,
    without_contact,
)
from shipnotify.v1 import feedback_pb2 as fpb

APPLIED = "a"  # how an applied event id is remembered: it changed what it says
KEPT_OUT = "k"  # ...or it was kept out (too late, an unknown or closed case)


@dataclass
class ShipmentFeedback:
    """A shipment's surveys and cases as read, the ids of its events already applied (each
    with APPLIED or KEPT_OUT), and what applying more changed: the records to write back."""

    shipment_id: str
    surveys: dict[str, Survey] = field(default_factory=dict)
    cases: dict[str, Case] = field(default_factory=dict)
    applied: dict[str, str] = field(default_factory=dict)
    version: str = ""  # the write checks that nobody wrote in between (store/feedback_state.py)
    erased_at_ms: int | None = None  # when its contacts were erased (store/apply_events.lua's x)
    sms_digests: dict[str, str] = field(default_factory=dict)  # survey id -> its number's hash
    changed_surveys: set[str] = field(default_factory=set)
    changed_cases: set[str] = field(default_factory=set)
    newly_applied: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.newly_applied or self.changed_surveys or self.changed_cases)

    def case_view(self, case: Case | None) -> Case | None:
        """The case with its survey's answer and follow-up as they now stand."""
        if case is None:
            return None
        survey = self.surveys.get(case.survey_id)
        return replace(
            case,
            answer=survey.answer if survey else None,
            follow_up=survey.follow_up if survey else None,
        )


def apply(
    state: ShipmentFeedback, event: fpb.FeedbackEvent, *, answer_days: int
) -> FeedbackApplied:
    """Applies one event of the shipment to `state` (changing it), once by its event id."""
    first = state.applied.get(event.event_id)
    if first is not None:
        survey, case = _touched(state, event)
        return FeedbackApplied(
            event, duplicate=True, survey=survey, case=case, kept_out=first == KEPT_OUT
        )
    done = _first(state, event, answer_days)
    outcome = KEPT_OUT if done.kept_out else APPLIED
    state.applied[event.event_id] = state.newly_applied[event.event_id] = outcome
    return done


def erase(state: ShipmentFeedback, erased_at_ms: int) -> None:
    """The contacts were erased: every survey forgets its person (address, name) and its
    number's hash (the caller deletes the reply keys first)."""
    if state.erased_at_ms is None or erased_at_ms > state.erased_at_ms:
        state.erased_at_ms = erased_at_ms
    for survey_id, survey in state.surveys.items():
        if survey.sent is not None and (survey.sent.address or survey.sent.name):
            state.surveys[survey_id] = replace(survey, sent=without_contact(survey.sent))
            state.changed_surveys.add(survey_id)
        if state.sms_digests.pop(survey_id, ""):
            state.changed_surveys.add(survey_id)


def _touched(
    state: ShipmentFeedback, event: fpb.FeedbackEvent
) -> tuple[Survey | None, Case | None]:
    """The survey and case an event is about, as they now stand."""
    body = event.WhichOneof("body")
    survey_id, case_id = "", ""
    if body in ("survey_sent", "survey_answered", "follow_up_answered"):
        survey_id = getattr(event, str(body)).survey_id
        case_id = case_of(survey_id) if body == "follow_up_answered" else ""
    elif body == "case_opened":
        survey_id, case_id = event.case_opened.survey_id, event.case_opened.case_id
    elif body in ("case_taken", "case_noted", "case_closed"):
        case_id = getattr(event, str(body)).case_id
    case = state.case_view(state.cases.get(case_id)) if case_id else None
    if case is not None and not survey_id:
        survey_id = case.survey_id
    return state.surveys.get(survey_id) if survey_id else None, case


def _first(state: ShipmentFeedback, event: fpb.FeedbackEvent, answer_days: int) -> FeedbackApplied:
    at = event.occurred_at.ToMilliseconds()
    match event.WhichOneof("body"):
        case "survey_sent":
            return _sent(state, event, at)
        case "survey_answered":
            return _answered(state, event, at, answer_days)
        case "follow_up_answered":
            return _follow_up(state, event)
        case "case_opened":
            return _opened(state, event, at)
        case "case_taken" | "case_noted" | "case_closed":
            return _case_change(state, event, at)
    return FeedbackApplied(event, duplicate=False, kept_out=True)  # no body: decoding refuses it


def _sent(state: ShipmentFeedback, event: fpb.FeedbackEvent, at: int) -> FeedbackApplied:
    sent = event.survey_sent
    survey = state.surveys.get(sent.survey_id)
    if survey is not None and survey.sent is not None:
        return FeedbackApplied(event, duplicate=False, survey=survey)  # sent once already
    erased = state.erased_at_ms is not None and at <= state.erased_at_ms
    kept = without_contact(sent) if erased else sent
    if survey is None:
        survey = Survey(state.shipment_id, sent.survey_id, sent=kept, sent_at_ms=at)
    else:  # answered (on the page) before it was sent
        survey = replace(survey, sent=kept, sent_at_ms=at)
    return _survey_changed(state, event, survey)


def _answered(
    state: ShipmentFeedback, event: fpb.FeedbackEvent, at: int, answer_days: int
) -> FeedbackApplied:
    answer = event.survey_answered
    survey = state.surveys.get(answer.survey_id) or Survey(
        state.shipment_id, answer.survey_id, sent=None, sent_at_ms=None
    )
    late = not survey.takes_answers(at, answer_days)
    older = survey.answered_at_ms is not None and at < survey.answered_at_ms
    if late or older:
        return FeedbackApplied(
            event, duplicate=False, survey=state.surveys.get(answer.survey_id), kept_out=True
        )
    first = survey.first_answered_at_ms if survey.first_answered_at_ms is not None else at
    survey = replace(survey, answer=answer, answered_at_ms=at, first_answered_at_ms=first)
    return _survey_changed(state, event, survey)


def _follow_up(state: ShipmentFeedback, event: fpb.FeedbackEvent) -> FeedbackApplied:
    follow_up = event.follow_up_answered
    survey = state.surveys.get(follow_up.survey_id)
    if survey is None:
        return FeedbackApplied(event, duplicate=False, kept_out=True)
    return _survey_changed(state, event, replace(survey, follow_up=follow_up))


def _survey_changed(
    state: ShipmentFeedback, event: fpb.FeedbackEvent, survey: Survey
) -> FeedbackApplied:
    state.surveys[survey.survey_id] = survey
    state.changed_surveys.add(survey.survey_id)
    case_id = case_of(survey.survey_id)
    if case_id in state.cases:
        state.changed_cases.add(case_id)  # its answer or follow-up changed: it lives on
    case = state.case_view(state.cases.get(case_id))
    return FeedbackApplied(event, duplicate=False, survey=survey, case=case)


def _opened(state: ShipmentFeedback, event: fpb.FeedbackEvent, at: int) -> FeedbackApplied:
    opened = event.case_opened
    survey = state.surveys.get(opened.survey_id)
    known = state.cases.get(opened.case_id)
    if known is not None:  # opened once: this one changes nothing, yet re-plans its notices
        return FeedbackApplied(event, duplicate=False, survey=survey, case=state.case_view(known))
    case = Case(
        case_id=opened.case_id,
        shipment_id=state.shipment_id,
        survey_id=opened.survey_id,
        state="open",
        opened_at_ms=at,
        due_at_ms=opened.due_at.ToMilliseconds(),
        depot=opened.depot,
        courier_id=opened.courier_id,
        answer=None,
        follow_up=None,
    )
    state.cases[case.case_id] = case
    state.changed_cases.add(case.case_id)
    return FeedbackApplied(
        event, duplicate=False, survey=survey, case=state.case_view(case), opened=True
    )


def _case_change(state: ShipmentFeedback, event: fpb.FeedbackEvent, at: int) -> FeedbackApplied:
    body = event.WhichOneof("body")
    case = state.cases.get(getattr(event, str(body)).case_id)
    if case is None or case.state == "closed":
        return FeedbackApplied(event, duplicate=False, case=state.case_view(case), kept_out=True)
    if body == "case_taken":
        case = replace(case, state="in_progress", taken_by=event.case_taken.operator)
    elif body == "case_noted":
        note = CaseNote(at, event.case_noted.operator, event.case_noted.note)
        case = replace(case, notes=(*case.notes, note))
    else:
        case = replace(case, state="closed", closed=event.case_closed, closed_at_ms=at)
    state.cases[case.case_id] = case
    state.changed_cases.add(case.case_id)
    survey = state.surveys.get(case.survey_id)
    return FeedbackApplied(event, duplicate=False, survey=survey, case=state.case_view(case))
