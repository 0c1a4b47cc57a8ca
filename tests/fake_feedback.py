"""A FeedbackStore of the tests' own, in memory: the surveys and cases a test puts in, read
by hooks as it reads the real one's (hooks never applies feedback events; the tracker's
consumer does). Also what a test needs to make them: a sent survey, an answer, a case."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

from shipnotify.model import survey
from shipnotify.store.feedback import (
    Case,
    CaseFilter,
    CaseNote,
    FeedbackApplied,
    FeedbackStore,
    Survey,
)
from shipnotify.v1 import feedback_pb2 as fpb
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.v1 import survey_pb2 as spb

DAY_MS = 86_400_000


def now_ms() -> int:
    return int(time.time() * 1000)


class FakeFeedback(FeedbackStore):
    """Surveys by (shipment id, survey id), the SMS survey of each phone, cases by id, each
    shipment's (depot, courier id)."""

    def __init__(self, answer_days: int = 7) -> None:  # (no Redis: the parent's fields unset)
        self.answer_days = answer_days
        self.surveys: dict[tuple[str, str], Survey] = {}
        self.phones: dict[str, tuple[str, str]] = {}
        self.by_id: dict[str, Case] = {}
        self.contexts: dict[str, tuple[str, str]] = {}
        self.overdue: int | None = None  # overdue_count's answer; None: counted from cases

    # what a test puts in

    def put(self, asked: Survey) -> Survey:
        self.surveys[asked.shipment_id, asked.survey_id] = asked
        if asked.sent is not None and asked.sent.channel == pb.CHANNEL_SMS:
            self.phones[asked.sent.address] = (asked.shipment_id, asked.survey_id)
        return asked

    def put_case(self, case: Case) -> Case:
        self.by_id[case.case_id] = case
        return case

    # the interface

    async def apply(self, events: Sequence[fpb.FeedbackEvent]) -> list[FeedbackApplied]:
        raise AssertionError("hooks applies no feedback event")

    async def shipment_context(self, shipment_id: str) -> tuple[str, str]:
        return self.contexts.get(shipment_id, ("", ""))

    async def survey(self, shipment_id: str, survey_id: str) -> Survey | None:
        return self.surveys.get((shipment_id, survey_id))

    async def survey_by_phone(self, phone: str) -> Survey | None:
        key = self.phones.get(phone)
        asked = self.surveys.get(key) if key else None
        if asked is None or not asked.takes_answers(now_ms(), self.answer_days):
            return None
        return asked

    async def case(self, case_id: str) -> Case | None:
        return self.by_id.get(case_id)

    async def cases(self, which: CaseFilter, now_ms: int) -> list[Case]:
        def chosen(case: Case) -> bool:
            if which.depot is not None and case.depot != which.depot:
                return False
            if which.courier_id is not None and case.courier_id != which.courier_id:
                return False
            if which.state == "open":
                return case.state != "closed"
            if which.state == "overdue":
                return case.overdue(now_ms)
            if which.state == "closed":
                return case.state == "closed"
            return True

        found = [c for c in self.by_id.values() if chosen(c)]
        return sorted(found, key=lambda c: c.due_at_ms)[: which.limit]

    async def overdue_count(self, now_ms: int) -> int:
        if self.overdue is not None:
            return self.overdue
        return sum(case.overdue(now_ms) for case in self.by_id.values())


# -- making them


def sent(
    shipment_id: str,
    survey_id: str | None = None,
    *,
    channel: int = pb.CHANNEL_SMS,
    address: str = "+37369000111",
    locale: str = "en",
    scale: int = spb.SCALE_CSAT,
    sent_ms_ago: int = 60_000,
    party: int = npb.PARTY_ROLE_RECIPIENT,
    name: str = "Ion Rusu",
) -> Survey:
    """A survey the notifier sent (by SMS unless told)."""
    survey_id = survey_id or survey.survey_id(f"delivered-{shipment_id}", party)
    record = fpb.SurveySent(
        survey_id=survey_id,
        party=party,  # type: ignore[arg-type]
        channel=channel,  # type: ignore[arg-type]
        scale=scale,  # type: ignore[arg-type]
        address=address,
        name=name,
        locale=locale,
        time_zone="Europe/Chisinau",
        notification_id=survey.notice_id(survey_id, "survey"),
    )
    return Survey(shipment_id, survey_id, record, now_ms() - sent_ms_ago)


def answered(asked: Survey, score: int, *, unhappy: bool, source: int) -> Survey:
    """The survey once the consumer applied an answer."""
    answer = fpb.SurveyAnswered(
        survey_id=asked.survey_id,
        scale=spb.SCALE_CSAT,
        score=score,
        source=source,  # type: ignore[arg-type]
        unhappy=unhappy,
    )
    return replace(asked, answer=answer, answered_at_ms=now_ms())


def followed_up(asked: Survey, reason: int, comment: str) -> Survey:
    follow_up = fpb.FollowUpAnswered(
        survey_id=asked.survey_id,
        reason=reason,  # type: ignore[arg-type]
        comment=comment,
        source=spb.ANSWER_SOURCE_SMS,
    )
    return replace(asked, follow_up=follow_up)


def case_of(
    asked: Survey,
    *,
    state: str = "open",
    due_in_ms: int = 3_600_000,
    depot: str = "north",
    courier_id: str = "c-17",
    notes: tuple[CaseNote, ...] = (),
    closed: fpb.CaseClosed | None = None,
) -> Case:
    return Case(
        case_id=survey.case_id(asked.survey_id),
        shipment_id=asked.shipment_id,
        survey_id=asked.survey_id,
        state=state,  # type: ignore[arg-type]
        opened_at_ms=now_ms() - 600_000,
        due_at_ms=now_ms() + due_in_ms,
        depot=depot,
        courier_id=courier_id,
        answer=asked.answer,
        follow_up=asked.follow_up,
        taken_by="Maria" if state != "open" else "",
        notes=notes,
        closed=closed,
        closed_at_ms=now_ms() if closed is not None else None,
    )
