"""The console's call-back cases without I/O: the list's filter from its query, the change a
form asks for (checked as hooks' API checks it), when a case read again shows it, and the
shared change events and the refusal of a closed case."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from shipnotify.console.case_forms import applied, change_of
from shipnotify.console.cases import case_filter
from shipnotify.console.sessions import Viewer
from shipnotify.model import survey
from shipnotify.store.feedback import Case, CaseFilter, CaseNote
from shipnotify.v1 import survey_pb2 as spb
from shipnotify.web import ApiError, case_changes
from shipnotify.web.case_changes import CloseCase, NoteCase, TakeCase

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
CASE = Case(
    case_id=str(uuid.uuid4()),
    shipment_id="s-1",
    survey_id="sv-1",
    state="open",
    opened_at_ms=0,
    due_at_ms=1,
    depot="north",
    courier_id="c-7",
    answer=None,
    follow_up=None,
)
OPERATOR = Viewer("operator")


def test_the_list_is_open_cases_by_default_and_a_bad_filter_is_named() -> None:
    assert case_filter({}) == (CaseFilter(state="open", limit=200), {})
    which, problems = case_filter({"state": "overdue", "depot": " north ", "courier": "c-7"})
    assert (which.state, which.depot, which.courier_id, problems) == ("overdue", "north", "c-7", {})
    which, problems = case_filter({"state": "all", "depot": "x\ny", "courier": "c" * 129})
    assert (which.state, which.depot, which.courier_id) == ("open", None, None)
    assert set(problems) == {"state", "depot", "courier"}


def test_a_form_is_checked_as_the_api_checks_it_naming_the_field() -> None:
    assert change_of("take", {"operator": " Maria "}, CASE, OPERATOR) == TakeCase(operator="Maria")
    taken = replace(CASE, state="in_progress", taken_by="Maria")
    # a note and a closing are the taker's, else the one signed in's
    assert change_of("note", {"note": "called"}, taken, OPERATOR) == NoteCase(
        operator="Maria", note="called"
    )
    assert change_of("note", {"note": "called"}, CASE, OPERATOR).operator == "operator"
    assert change_of("close", {"outcome": "solved", "cause": "courier"}, CASE, OPERATOR) == (
        CloseCase(operator="operator", outcome="solved", cause="courier", note="")
    )
    for action, form, field in (
        ("take", {}, "operator"),
        ("take", {"operator": "a\tb"}, "operator"),
        ("note", {"note": ""}, "note"),
        ("close", {"outcome": "solved", "cause": "weather"}, "cause"),
        ("close", {"cause": "other"}, "outcome"),
        ("close", {"outcome": "solved", "cause": "other", "note": "x" * 2001}, "note"),
    ):
        with pytest.raises(ApiError) as refused:
            change_of(action, form, CASE, OPERATOR)
        assert refused.value.status == 422
        assert field in refused.value.fields, (action, form)


def test_a_case_read_again_shows_the_change_once_applied() -> None:
    take = TakeCase(operator="Maria")
    assert not applied(take, CASE)(CASE)
    assert applied(take, CASE)(replace(CASE, state="in_progress", taken_by="Maria"))
    assert not applied(take, CASE)(replace(CASE, state="in_progress", taken_by="Ion"))
    note = NoteCase(operator="Maria", note="x")
    assert not applied(note, CASE)(CASE)
    assert applied(note, CASE)(replace(CASE, notes=(CaseNote(1, "Maria", "x"),)))
    closing = CloseCase(operator="Maria", outcome="solved", cause="other")
    assert not applied(closing, CASE)(replace(CASE, state="in_progress"))
    assert applied(closing, CASE)(replace(CASE, state="closed"))


def test_the_changes_are_the_contracts_events_and_a_closed_case_takes_none() -> None:
    taken = case_changes.change_event(CASE, TakeCase(operator="Maria"), NOW)
    again = case_changes.change_event(CASE, TakeCase(operator="Maria"), NOW)
    assert taken.event_id != again.event_id  # a take is a new event each time
    assert uuid.UUID(taken.event_id).version == 4
    assert (taken.shipment_id, taken.case_taken.case_id) == ("s-1", CASE.case_id)
    assert taken.occurred_at.ToDatetime(UTC) == NOW
    closing = CloseCase(operator="Maria", outcome="compensated", cause="depot", note="refund")
    closed = case_changes.change_event(CASE, closing, NOW)
    assert closed.event_id == survey.feedback_event_id("closed", CASE.case_id)  # once
    assert closed.case_closed.outcome == spb.CASE_OUTCOME_COMPENSATED
    assert closed.case_closed.cause == spb.CASE_CAUSE_DEPOT
    assert case_changes.open_only(CASE) is CASE
    with pytest.raises(ApiError) as refused:
        case_changes.open_only(replace(CASE, state="closed"))
    assert (refused.value.status, refused.value.error) == (409, "case_closed")
