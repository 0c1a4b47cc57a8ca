"""Surveys, answers and call-back cases in Redis: written by the tracker's feedback consumer
from the feedback topic (once per event id), read by hooks (an SMS reply's survey, the
landing page, the operators' case API) and by status_api (has the page's question been
answered). Keys: store/keys.py, "surveys and call-back cases"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from redis.asyncio import Redis

from shipnotify.v1 import feedback_pb2 as fpb

CaseState = Literal["open", "in_progress", "closed"]


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

    def takes_answers(self, now_ms: int, answer_days: int) -> bool:
        """A survey takes answers (a later replacing an earlier) for `answer_days` after it
        was sent; the page's question, for as long after its first answer."""
        start = self.sent_at_ms if self.sent_at_ms is not None else self.answered_at_ms
        return start is None or now_ms - start < answer_days * 86_400_000


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
    """What applying one feedback event did; a duplicate (an event id applied before)
    changed nothing and calls for no notice."""

    event: fpb.FeedbackEvent
    duplicate: bool
    # a survey answered, a follow-up, a case opened: the survey as it now stands
    survey: Survey | None = None
    # CaseOpened (first time only) or any change of a case: the case as it now stands
    case: Case | None = None
    opened: bool = False  # this event opened the case (not a duplicate CaseOpened)


@dataclass
class FeedbackStore:
    redis: Redis
    opt_out_secret: bytes  # the key of the phone and address hashes (store/digests.py)
    keep_days: int = 90
    answer_days: int = 7
    every_days: int = 30  # SurveySent books its person again (store/survey_throttle.py)

    # ---- the tracker's feedback consumer ----

    async def apply(self, events: Sequence[fpb.FeedbackEvent]) -> list[FeedbackApplied]:
        """Applies events in order, each once (by event id); idempotent."""
        raise NotImplementedError

    async def shipment_context(self, shipment_id: str) -> tuple[str, str]:
        """(depot, courier id) answerable for a shipment: the registration's depot, else the
        latest timeline entry's; the assigned courier, else the delivering one. "" unknown."""
        raise NotImplementedError

    # ---- readers: hooks, status_api ----

    async def survey(self, shipment_id: str, survey_id: str) -> Survey | None:
        raise NotImplementedError

    async def survey_by_phone(self, phone: str) -> Survey | None:
        """The SMS survey a reply from this number (E.164) answers: the latest sent to it
        that still takes answers."""
        raise NotImplementedError

    async def case(self, case_id: str) -> Case | None:
        raise NotImplementedError

    async def cases(self, which: CaseFilter, now_ms: int) -> list[Case]:
        """Open ones by due time (soonest first), closed ones latest closed first."""
        raise NotImplementedError

    async def overdue_count(self, now_ms: int) -> int:
        raise NotImplementedError
