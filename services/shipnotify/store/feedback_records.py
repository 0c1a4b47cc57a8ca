"""Surveys and call-back cases as the readers see them (store/feedback.py names them too), and
as Redis keeps them: compact JSON, a value a survey in `{shp:<id>}:surveys` and a value a
case in `{shp:<id>}:cases` (keys.py spells the layout). Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import orjson
from google.protobuf import json_format
from google.protobuf.message import Message

from shipnotify.model.codec import TimelineEntry
from shipnotify.v1 import feedback_pb2 as fpb
from shipnotify.v1 import shipment_events_pb2 as pb

CaseState = Literal["open", "in_progress", "closed"]
_STATES: tuple[CaseState, ...] = ("open", "in_progress", "closed")
_DAY_MS = 86_400_000


@dataclass(frozen=True)
class Survey:
    """A survey as the feedback events made it: sent (None for the tracking page's
    question, which nobody sends), its current answer and its follow-up's."""

    shipment_id: str
    survey_id: str
    sent: fpb.SurveySent | None
    sent_at_ms: int | None
    answer: fpb.SurveyAnswered | None = None
    answered_at_ms: int | None = None  # the current answer's
    follow_up: fpb.FollowUpAnswered | None = None
    first_answered_at_ms: int | None = None  # the first answer's: the page question's window

    def takes_answers(self, now_ms: int, answer_days: int) -> bool:
        """A survey takes answers (a later replacing an earlier) for `answer_days` after it
        was sent; the page's question, for as long after its first answer."""
        start = self.sent_at_ms if self.sent_at_ms is not None else self.first_answered_at_ms
        if start is None:
            start = self.answered_at_ms
        return start is None or now_ms - start < answer_days * _DAY_MS


@dataclass(frozen=True)
class CaseNote:
    at_ms: int
    operator: str
    text: str


@dataclass(frozen=True)
class Case:
    case_id: str
    shipment_id: str
    survey_id: str
    state: CaseState
    opened_at_ms: int
    due_at_ms: int
    depot: str
    courier_id: str
    answer: fpb.SurveyAnswered | None  # the answer that opened it, or the survey's latest
    follow_up: fpb.FollowUpAnswered | None
    taken_by: str = ""
    notes: tuple[CaseNote, ...] = ()
    closed: fpb.CaseClosed | None = None
    closed_at_ms: int | None = None

    def overdue(self, now_ms: int) -> bool:
        return self.state != "closed" and now_ms > self.due_at_ms


@dataclass(frozen=True)
class CaseFilter:
    """`state`: "open" (open or in progress), "overdue" (those past their due time),
    "closed", or None for all."""

    state: Literal["open", "overdue", "closed"] | None = "open"
    depot: str | None = None
    courier_id: str | None = None
    limit: int = 100


@dataclass(frozen=True)
class FeedbackApplied:
    """What applying one feedback event did. A duplicate (an event id applied before)
    changed nothing; it reports the survey and case as they now stand and whether its first
    application was kept out, so that it re-plans the jobs its first application called for."""

    event: fpb.FeedbackEvent
    duplicate: bool
    # a survey sent or answered, a follow-up, a case opened: the survey as it now stands
    survey: Survey | None = None
    # a CaseOpened (a duplicate too) or any change of a case: the case as it now stands
    case: Case | None = None
    opened: bool = False  # this event opened the case (not a duplicate CaseOpened)
    # an answer past its survey's window (or older than the current one), a follow-up to
    # no known survey, a change to an unknown or closed case: recorded as applied, no change
    kept_out: bool = False


# ---- the records as stored ----
#
# A survey: {"sent": SurveySent, "sent_at": ms, "answer": SurveyAnswered, "answered_at": ms,
# "first_answered_at": ms, "follow_up": FollowUpAnswered, "sms": the phone's keyed hash}
# A case: {"survey_id", "state": "open"|"in_progress"|"closed", "opened_at": ms, "due_at": ms,
# "depot", "courier_id", "taken_by", "notes": [[ms, operator, text], ...],
# "closed": CaseClosed, "closed_at": ms}
# The messages in protobuf's JSON form (proto field names, enums by number, defaults left
# out); an absent or empty member is left out. A case's answer and follow-up are its
# survey's, read with it: a follow-up given after the case opened is the case's too.

M = TypeVar("M", bound=Message)


def survey_record(survey: Survey, *, sms_digest: str = "") -> bytes:
    """`sms_digest`: the keyed hash of the number an SMS survey went to, kept so that an
    erasure can find the survey's SMS reply key without the key of the hash."""
    record = {
        "sent": _message(survey.sent),
        "sent_at": survey.sent_at_ms,
        "answer": _message(survey.answer),
        "answered_at": survey.answered_at_ms,
        "first_answered_at": survey.first_answered_at_ms,
        "follow_up": _message(survey.follow_up),
        "sms": sms_digest,
    }
    return _dumps(record)


def survey_from_record(shipment_id: str, survey_id: str, raw: bytes | str) -> tuple[Survey, str]:
    """The survey, and its SMS reply key's hash ("" none)."""
    doc = orjson.loads(raw)
    survey = Survey(
        shipment_id=shipment_id,
        survey_id=survey_id,
        sent=_parsed(doc.get("sent"), fpb.SurveySent),
        sent_at_ms=doc.get("sent_at"),
        answer=_parsed(doc.get("answer"), fpb.SurveyAnswered),
        answered_at_ms=doc.get("answered_at"),
        follow_up=_parsed(doc.get("follow_up"), fpb.FollowUpAnswered),
        first_answered_at_ms=doc.get("first_answered_at"),
    )
    return survey, str(doc.get("sms", ""))


def case_record(case: Case) -> bytes:
    record = {
        "survey_id": case.survey_id,
        "state": case.state,
        "opened_at": case.opened_at_ms,
        "due_at": case.due_at_ms,
        "depot": case.depot,
        "courier_id": case.courier_id,
        "taken_by": case.taken_by,
        "notes": [[n.at_ms, n.operator, n.text] for n in case.notes],
        "closed": _message(case.closed),
        "closed_at": case.closed_at_ms,
    }
    return _dumps(record)


def case_from_record(
    shipment_id: str, case_id: str, raw: bytes | str, survey: Survey | None
) -> Case:
    doc = orjson.loads(raw)
    state = doc.get("state")
    return Case(
        case_id=case_id,
        shipment_id=shipment_id,
        survey_id=str(doc.get("survey_id", "")),
        state=state if state in _STATES else "open",
        opened_at_ms=int(doc.get("opened_at", 0)),
        due_at_ms=int(doc.get("due_at", 0)),
        depot=str(doc.get("depot", "")),
        courier_id=str(doc.get("courier_id", "")),
        answer=survey.answer if survey else None,
        follow_up=survey.follow_up if survey else None,
        taken_by=str(doc.get("taken_by", "")),
        notes=tuple(
            CaseNote(int(at), str(who), str(said)) for at, who, said in doc.get("notes", ())
        ),
        closed=_parsed(doc.get("closed"), fpb.CaseClosed),
        closed_at_ms=doc.get("closed_at"),
    )


def without_contact(sent: fpb.SurveySent) -> fpb.SurveySent:
    """A SurveySent without the person's data (address, name): what an erasure leaves."""
    kept = fpb.SurveySent()
    kept.CopyFrom(sent)
    kept.ClearField("address")
    kept.ClearField("name")
    return kept


def sms_address(survey: Survey) -> str:
    """The number an SMS survey went to ("" another channel, or erased)."""
    sent = survey.sent
    return sent.address if sent is not None and sent.channel == pb.CHANNEL_SMS else ""


def _message(message: Message | None) -> dict[str, Any] | None:
    if message is None:
        return None
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, use_integers_for_enums=True
    )


def _parsed(doc: dict[str, Any] | None, kind: type[M]) -> M | None:
    if doc is None:
        return None
    return json_format.ParseDict(doc, kind(), ignore_unknown_fields=True)


def _dumps(record: dict[str, Any]) -> bytes:
    return orjson.dumps({k: v for k, v in record.items() if v not in (None, "", [])})


def answerable(
    parties: bytes | None,
    entries: Iterable[TimelineEntry],
    assigned: bytes | str | None,
    delivering: bytes | str | None,
) -> tuple[str, str]:
    """(depot, courier id) from what Redis keeps of a shipment (shipment_context)."""
    depot = pb.ShipmentRegistered.FromString(parties).depot if parties else ""
    if not depot:
        placed = [e for e in entries if (e.location or {}).get("depot")]
        if placed:
            latest = max(placed, key=lambda e: (e.occurred_at_ms, e.recorded_at_ms))
            depot = (latest.location or {})["depot"]
    courier = assigned or delivering or ""
    return depot, courier.decode() if isinstance(courier, bytes) else courier
