"""Surveys, answers and call-back cases in Redis: written by the tracker's feedback consumer
from the feedback topic (once per event id), read by hooks (an SMS reply's survey, the
landing page, the operators' case API) and by status_api (has the page's question been
answered). Keys: store/keys.py, "surveys and call-back cases".

A shipment's surveys and cases (and the ids of its feedback events applied) share its hash
tag and change together, by one script call a shipment (feedback_state.py); what the events
do to them is decided in feedback_rules.py. The keys outside the tag (the case lists, a
case's shipment, the SMS reply and survey throttle keys) follow with idempotent commands,
made from the records as they then stand, so that a redelivered event repairs what a crash
between the two left undone."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from shipnotify.model.codec import entry_from_stored
from shipnotify.model.day_figures import NOTICE_EVENTS
from shipnotify.store import feedback_rules
from shipnotify.store.day_figures import NoticeDays
from shipnotify.store.digests import address_digest
from shipnotify.store.feedback_records import (
    Case,
    CaseFilter,
    CaseNote,
    CaseState,
    FeedbackApplied,
    Survey,
    answerable,
    case_from_record,
    sms_address,
    survey_from_record,
)
from shipnotify.store.feedback_rules import ShipmentFeedback
from shipnotify.store.feedback_state import FeedbackStates
from shipnotify.store.keys import (
    CASES_CLOSED,
    CASES_OPEN,
    case_key,
    cases_key,
    courier_key,
    parties_key,
    sms_survey_key,
    state_key,
    surveys_key,
    timeline_key,
)
from shipnotify.store.replies import text
from shipnotify.store.survey_days import SurveyDays
from shipnotify.store.survey_throttle import SurveyThrottle
from shipnotify.store.tracking import each_alone
from shipnotify.v1 import feedback_pb2 as fpb

__all__ = [
    "Case",
    "CaseFilter",
    "CaseNote",
    "CaseState",
    "FeedbackApplied",
    "FeedbackStore",
    "Survey",
]

_DAY_MS = 86_400_000
_PAGE = 200  # case ids read at a time while filtering a list


@dataclass
class FeedbackStore:
    redis: Redis
    opt_out_secret: bytes  # the key of the phone and address hashes (store/digests.py)
    keep_days: int = 90
    answer_days: int = 7
    every_days: int = 30  # SurveySent books its person again (store/survey_throttle.py)
    days: SurveyDays | None = None  # the per-day figures the applied surveys are folded into
    notices: NoticeDays | None = None  # those the notices' outcomes and receipts are folded into
    _states: FeedbackStates = field(init=False, repr=False)
    _throttle: SurveyThrottle = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._states = FeedbackStates(self.redis, keep_days=self.keep_days)
        self._throttle = SurveyThrottle(
            self.redis, secret=self.opt_out_secret, every_days=self.every_days
        )

    # ---- the tracker's feedback consumer ----

    async def apply(self, events: Sequence[fpb.FeedbackEvent]) -> list[FeedbackApplied]:
        """Applies events in order, each once (by event id); idempotent. A notice's outcome
        or receipt only adds its part to the per-day figures, which counts it once."""
        if not events:
            return []
        done: list[FeedbackApplied | None] = [None] * len(events)
        of_shipment: dict[str, list[int]] = {}
        notices = []
        for i, event in enumerate(events):
            if event.WhichOneof("body") in NOTICE_EVENTS:
                notices.append(event)
                done[i] = FeedbackApplied(event, duplicate=False)
            else:
                of_shipment.setdefault(event.shipment_id, []).append(i)
        if notices and self.notices is not None:
            await self.notices.fold(notices)

        def fold(state: ShipmentFeedback) -> None:
            for i in of_shipment[state.shipment_id]:
                done[i] = feedback_rules.apply(state, events[i], answer_days=self.answer_days)

        if of_shipment:
            await self._states.update(of_shipment, fold, digest=self._digest)
        applied = [d for d in done if d is not None]
        surveys = [d for d in applied if d.event.WhichOneof("body") not in NOTICE_EVENTS]
        await self._beside(surveys)
        if self.days is not None:
            await self.days.fold(surveys)
        return applied

    async def apply_each(
        self, events: Sequence[fpb.FeedbackEvent]
    ) -> list[FeedbackApplied | RedisError]:
        """apply(), an event at a time: for a batch Redis refused because of one of its
        events, the others' outcomes and that one's error."""
        return await each_alone(self.apply, events)

    async def shipment_context(self, shipment_id: str) -> tuple[str, str]:
        """(depot, courier id) answerable for a shipment: the registration's depot, else the
        latest timeline entry's; the assigned courier, else the delivering one. "" unknown."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(parties_key(shipment_id))
        pipe.hvals(timeline_key(shipment_id))
        pipe.get(courier_key(shipment_id))
        pipe.hget(state_key(shipment_id), "d")  # the delivering courier (store/couriers.py)
        parties, entries, assigned, delivering = await pipe.execute()
        return answerable(parties, map(entry_from_stored, entries), assigned, delivering)

    # ---- readers: hooks, status_api ----

    async def survey(self, shipment_id: str, survey_id: str) -> Survey | None:
        raw = await self.redis.hget(surveys_key(shipment_id), survey_id)
        return survey_from_record(shipment_id, survey_id, raw)[0] if raw else None

    async def survey_by_phone(self, phone: str) -> Survey | None:
        """The SMS survey a reply from this number (E.164) answers: the latest sent to it
        that still takes answers."""
        found = await self.redis.get(sms_survey_key(self._digest(phone)))
        if found is None:
            return None
        shipment_id, _, survey_id = text(found).rpartition("/")
        survey = await self.survey(shipment_id, survey_id)
        if survey is None or not survey.takes_answers(_now_ms(), self.answer_days):
            return None
        return survey

    async def case(self, case_id: str) -> Case | None:
        shipment_id = await self.redis.get(case_key(case_id))
        if shipment_id is None:
            return None
        return (await self._cases([(text(shipment_id), case_id)]))[0]

    async def cases(self, which: CaseFilter, now_ms: int) -> list[Case]:
        """Open ones by due time (soonest first), closed ones latest closed first."""
        found: dict[str, Case] = {}
        lists = ("open", "closed") if which.state is None else (which.state,)
        for listed in lists:
            start = 0
            while len(found) < which.limit:
                ids = await self._listed(listed, start, now_ms)
                if not ids:
                    break
                start += len(ids)
                for case in await self._resolved(ids):
                    if _chosen(case, which, now_ms):
                        found.setdefault(case.case_id, case)
        return list(found.values())[: which.limit]

    async def overdue_count(self, now_ms: int) -> int:
        return int(await self.redis.zcount(CASES_OPEN, "-inf", f"({now_ms}"))

    # ---- the keys beside a shipment's ----

    async def _beside(self, applied: Sequence[FeedbackApplied]) -> None:
        """The keys outside the shipments' hash tags, from the records as they now stand:
        idempotent, so a duplicate repairs what a crash left undone."""
        now = _now_ms()
        keep_s = self.keep_days * 86400
        pipe = self.redis.pipeline(transaction=False)
        asked: list[tuple[str, str, int]] = []
        cases: dict[str, Case] = {}
        for done in applied:
            survey = done.survey
            sent = survey.sent if survey else None
            if done.event.WhichOneof("body") == "survey_sent" and survey and sent:
                at = survey.sent_at_ms or 0
                if sent.address:
                    asked.append((sent.address, survey.survey_id, at))
                if phone := sms_address(survey):
                    until = at + self.answer_days * _DAY_MS
                    if until > now:  # a later survey to the number wins; a repair never does
                        value = f"{survey.shipment_id}/{survey.survey_id}"
                        key = sms_survey_key(self._digest(phone))
                        pipe.set(key, value, pxat=until, nx=done.duplicate)
            if done.case is not None:
                cases[done.case.case_id] = done.case
        for case in cases.values():
            pipe.set(case_key(case.case_id), case.shipment_id, ex=keep_s)
            if case.state == "closed":
                pipe.zrem(CASES_OPEN, case.case_id)
                pipe.zadd(CASES_CLOSED, {case.case_id: case.closed_at_ms or 0})
            else:
                pipe.zadd(CASES_OPEN, {case.case_id: case.due_at_ms})
                pipe.zrem(CASES_CLOSED, case.case_id)
        if cases:  # the lists forget cases gone with their shipment's keys
            pipe.zremrangebyscore(CASES_CLOSED, "-inf", now - keep_s * 1000)
            pipe.zremrangebyscore(CASES_OPEN, "-inf", now - keep_s * 1000)
        if len(pipe):
            await pipe.execute()
        for address, survey_id, sent_at in asked:
            await self._throttle.remember(address, survey_id, sent_at, now)

    async def _listed(self, listed: str, start: int, now_ms: int) -> list[str]:
        """A page of case ids of one list, in its order."""
        if listed == "closed":
            ids: Any = await self.redis.zrevrange(CASES_CLOSED, start, start + _PAGE - 1)
        elif listed == "overdue":
            ids = await self.redis.zrangebyscore(
                CASES_OPEN, "-inf", f"({now_ms}", start=start, num=_PAGE
            )
        else:
            ids = await self.redis.zrange(CASES_OPEN, start, start + _PAGE - 1)
        return [text(i) for i in ids]

    async def _resolved(self, case_ids: Sequence[str]) -> list[Case]:
        """The cases of these ids that are still kept, in their order."""
        pipe = self.redis.pipeline(transaction=False)
        for case_id in case_ids:
            pipe.get(case_key(case_id))
        shipments = await pipe.execute()
        pairs = [(text(s), c) for s, c in zip(shipments, case_ids, strict=True) if s]
        return [c for c in await self._cases(pairs) if c is not None]

    async def _cases(self, pairs: Sequence[tuple[str, str]]) -> list[Case | None]:
        """Each (shipment id, case id)'s case with its survey's answer and follow-up."""
        if not pairs:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for shipment_id, case_id in pairs:
            pipe.hget(cases_key(shipment_id), case_id)
            pipe.hgetall(surveys_key(shipment_id))
        replies = await pipe.execute()
        found: list[Case | None] = []
        for i, (shipment_id, case_id) in enumerate(pairs):
            raw, surveys = replies[2 * i], replies[2 * i + 1]
            if not raw:
                found.append(None)
                continue
            case = case_from_record(shipment_id, case_id, raw, None)
            survey_raw = surveys.get(case.survey_id.encode())
            if survey_raw:
                survey = survey_from_record(shipment_id, case.survey_id, survey_raw)[0]
                case = replace(case, answer=survey.answer, follow_up=survey.follow_up)
            found.append(case)
        return found

    def _digest(self, address: str) -> str:
        return address_digest(self.opt_out_secret, address)


def _chosen(case: Case, which: CaseFilter, now_ms: int) -> bool:
    """Whether a listed case belongs in the answer (a list may hold a case whose record
    moved on since, until the consumer's next write puts it right)."""
    if which.depot is not None and case.depot != which.depot:
        return False
    if which.courier_id is not None and case.courier_id != which.courier_id:
        return False
    if which.state == "closed":
        return case.state == "closed"
    if which.state == "overdue":
        return case.overdue(now_ms)
    return which.state is None or case.state != "closed"


def _now_ms() -> int:
    return int(time.time() * 1000)
