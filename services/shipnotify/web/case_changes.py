"""An operator's change of a call-back case, as hooks' case API and the console's forms take
it: who takes it, a note, its closing (an outcome and a cause from the lists below, and a
note), each checked by the same rules, made into the same feedback event
(model/feedback_events.py) and refused for a closed case (409), as the tracker's feedback
consumer would keep it out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, get_args

from pydantic import Field

from shipnotify.model import feedback_events
from shipnotify.model import survey_names as names
from shipnotify.store.feedback import Case
from shipnotify.v1 import feedback_pb2 as fpb
from shipnotify.web import ApiError
from shipnotify.web.fields import Strict, printable

MAX_NOTE = 2000
_TEXT = r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$"  # line breaks and tabs, no other control character

Operator = Annotated[str, *printable(100)]
Note = Annotated[str, Field(min_length=1, max_length=MAX_NOTE, pattern=_TEXT)]
Outcome = Literal["apologised", "solved", "compensated", "could_not_reach"]
Cause = Literal["courier", "depot", "transport", "address", "notices", "customer", "other"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)  # in the order a form offers them
CAUSES: tuple[str, ...] = get_args(Cause)


class TakeCase(Strict):
    operator: Operator


class NoteCase(Strict):
    operator: Operator
    note: Note


class CloseCase(Strict):
    operator: Operator
    outcome: Outcome
    cause: Cause
    note: Annotated[str, Field(max_length=MAX_NOTE, pattern=_TEXT)] = ""


def open_only(case: Case) -> Case:
    """The case, if it takes changes; a closed one takes none (409)."""
    if case.state == "closed":
        raise ApiError(
            409, "case_closed", "the case is closed; it takes no change", {"case_id": "closed"}
        )
    return case


def change_event(
    case: Case, change: TakeCase | NoteCase | CloseCase, now: datetime
) -> fpb.FeedbackEvent:
    """The feedback event of a change of an open case."""
    if isinstance(change, TakeCase):
        return feedback_events.case_taken(case.shipment_id, case.case_id, change.operator, now)
    if isinstance(change, NoteCase):
        return feedback_events.case_noted(
            case.shipment_id, case.case_id, change.operator, change.note, now
        )
    return feedback_events.case_closed(
        case.shipment_id,
        case.case_id,
        change.operator,
        outcome=names.OUTCOMES[change.outcome],
        cause=names.CAUSES[change.cause],
        note=change.note,
        now=now,
    )
