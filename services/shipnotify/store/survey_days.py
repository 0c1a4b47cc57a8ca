"""The per-day satisfaction figures in Redis: each survey's part (model/survey_days.py) folded
into its day's cuts by one script call (`day_parts.lua`), which takes back what the survey
added before; read back summed over a range of days in one round trip. The feedback store
folds the surveys its events touched (the tracker's feedback consumer, and `rebuild`, which
replays the feedback topic into an empty Redis). Keys: store/keys.py; a day's share one hash
tag, so a call touches one Redis Cluster slot."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from importlib.resources import files
from time import time as time_now
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from shipnotify.model import survey, survey_days
from shipnotify.model.codec import TimelineEntry, entry_from_stored
from shipnotify.model.status import Status
from shipnotify.model.survey_days import CUTS, SurveyFact
from shipnotify.store.feedback_records import FeedbackApplied, Survey, answerable
from shipnotify.store.keys import (
    courier_key,
    owner_key,
    parties_key,
    state_key,
    survey_cut_key,
    survey_parts_key,
    timeline_key,
)
from shipnotify.store.replies import text

_LUA = files("shipnotify.store").joinpath("day_parts.lua").read_text()
_DAY_MS = 86_400_000


@dataclass
class SurveyDays:
    redis: Redis
    zone: ZoneInfo
    answer_days: int = 7  # how long a survey's part may still change
    keep_days: int = 400  # how long a day's figures are kept
    _write: object = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._write = self.redis.register_script(_LUA)

    async def fold(self, applied: Sequence[FeedbackApplied]) -> None:
        """Folds in the surveys these events touched, as they now stand."""
        touched: dict[str, tuple[Survey, bool]] = {}
        for done in applied:
            if done.survey is not None and not done.kept_out:
                repair = touched.get(done.survey.survey_id, (None, True))[1] and done.duplicate
                touched[done.survey.survey_id] = (done.survey, repair)
        if not touched:
            return
        facts = await self._facts([s for s, _ in touched.values()])
        # a survey once in a batch: its calls are independent of one another
        await asyncio.gather(*(self._fold_one(f, repair=touched[f.survey_id][1]) for f in facts))

    async def read(self, first: date, last: date, cut: str, *, account: str = "") -> Span:
        """A cut's counts from `first` to `last`, both in, in one round trip."""
        found, _ = await self.read_cuts(first, last, [cut], account=account)
        return found[cut]

    async def read_cuts(
        self,
        first: date,
        last: date,
        cuts: Sequence[str],
        *,
        account: str = "",
        each_day: str = "",
    ) -> tuple[dict[str, Span], list[dict[Any, Any]]]:
        """Cuts' counts from `first` to `last`, both in, and with `each_day` a cut's hash of
        each day (a trend), all in one round trip. A month's hash for each month wholly in;
        for a month partly in, its days in, or its hash less its days out, whichever reads
        fewer (`plan`)."""
        oldest = today(self.zone) - timedelta(self.keep_days - 1)  # older days are gone
        added, taken = plan(first, last, oldest)
        days = [first + timedelta(d) for d in range((last - first).days + 1)] if each_day else []
        pipe = self.redis.pipeline(transaction=False)  # on a cluster: a slot a month
        for cut in cuts:
            for period in (*added, *taken):
                pipe.hgetall(survey_cut_key(period, cut, account))
        for day in days:
            pipe.hgetall(survey_cut_key(day.isoformat(), each_day, account))
        found: list[dict[Any, Any]] = await pipe.execute()
        spans, at = {}, 0
        for cut in cuts:
            spans[cut] = Span(
                found[at : at + len(added)], found[at + len(added) : at + len(added) + len(taken)]
            )
            at += len(added) + len(taken)
        return spans, found[at:]

    async def each_day(
        self, first: date, last: date, cut: str, *, account: str = ""
    ) -> list[dict[Any, Any]]:
        """A cut's hashes, a day each from `first` to `last` (a trend), in one round trip."""
        _, found = await self.read_cuts(first, last, [], account=account, each_day=cut)
        return found

    async def _fold_one(self, fact: SurveyFact, *, repair: bool) -> None:
        day, part = survey_days.part(fact, self.zone)
        keys = [survey_parts_key(day.isoformat())]
        months, counts = [], []
        for account in ("", fact.account) if fact.account else ("",):
            for cut in CUTS:
                keys.append(survey_cut_key(day.isoformat(), cut, account))
                months.append(survey_cut_key(day.isoformat()[:7], cut, account))
                counts.append(part.get(cut, {}))
        day_end, month_end = self._end(day + timedelta(1)), self._end(_next_month(day))
        # the part is kept while the survey may change, and a day at least: a replay (rebuild,
        # an import of history) brings a long-closed survey's events minutes apart, and each
        # must find the part the one before wrote
        kept = max(day_end + (self.answer_days + 1) * _DAY_MS, int(time_now() * 1000) + _DAY_MS)
        args = [
            fact.survey_id,
            json.dumps(counts, sort_keys=True, separators=(",", ":")),
            "1" if repair else "0",
            kept,
            day_end + self.keep_days * _DAY_MS,
            month_end + self.keep_days * _DAY_MS,
        ]
        await self._write(keys=keys + months, args=args)  # type: ignore[operator]

    def _end(self, start_of_next: date) -> int:
        return int(datetime.combine(start_of_next, time(), self.zone).timestamp() * 1000)

    async def _facts(self, surveys: Sequence[Survey]) -> list[SurveyFact]:
        """What the figures need of each survey, its shipment's read in one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        for s in surveys:
            sid = s.shipment_id
            pipe.get(parties_key(sid))
            pipe.hgetall(timeline_key(sid))
            pipe.get(courier_key(sid))
            pipe.hget(state_key(sid), "d")
            pipe.get(owner_key(sid))
        replies = await pipe.execute()
        facts = []
        for i, s in enumerate(surveys):
            parties, timeline, assigned, delivering, owner = replies[5 * i : 5 * i + 5]
            entries = {text(k): entry_from_stored(v) for k, v in timeline.items()}
            depot, courier = answerable(parties, entries.values(), assigned, delivering)
            if (
                fact := _fact(s, entries, depot, courier, text(owner) if owner else "")
            ) is not None:
                facts.append(fact)
        return facts


def _fact(
    s: Survey, entries: Mapping[str, TimelineEntry], depot: str, courier: str, account: str
) -> SurveyFact | None:
    scale = s.answer.scale if s.answer else s.sent.scale if s.sent else 0
    if not scale:
        return None
    party = s.sent.party if s.sent else 0
    delivered = [
        (e.occurred_at_ms, event_id)
        for event_id, e in entries.items()
        if e.status is Status.DELIVERED
    ]
    # the delivery the survey asks about (its id is made of that event's), else the first
    at = next(
        (ms for ms, eid in delivered if survey.survey_id(eid, party) == s.survey_id),
        min(delivered)[0] if delivered else s.sent_at_ms or s.answered_at_ms or 0,
    )
    return SurveyFact(
        survey_id=s.survey_id,
        delivered_at_ms=at,
        party=party,
        channel=survey_days.channel_name(s.sent.channel) if s.sent else "page",
        scale=scale,
        sent=s.sent is not None,
        score=s.answer.score if s.answer else None,
        unhappy=bool(s.answer and s.answer.unhappy),
        reason=s.follow_up.reason if s.follow_up and s.answer and s.answer.unhappy else 0,
        depot=depot,
        courier=courier,
        account=account,
    )


@dataclass(frozen=True)
class Span:
    """A period's counts as Redis answered them: the hashes to add and those to take away."""

    plus: list[dict[Any, Any]]
    minus: list[dict[Any, Any]]


def plan(first: date, last: date, oldest: date) -> tuple[list[str], list[str]]:
    """The periods (YYYY-MM or YYYY-MM-DD) whose counts add up to first..last, and those to
    take away: a month wholly in; a month partly in, its days in, or, when that reads more
    hashes, the month less its days out (unless one of those is older than `oldest`, gone
    from Redis while its month is not)."""
    plus: list[str] = []
    minus: list[str] = []
    for month, days_in, days_out in _months(first, last):
        if not days_out:
            plus.append(month)
        elif len(days_in) <= len(days_out) + 1 or min(days_out) < oldest:
            plus += [d.isoformat() for d in days_in]
        else:
            plus.append(month)
            minus += [d.isoformat() for d in days_out]
    return plus, minus


def _months(first: date, last: date) -> list[tuple[str, list[date], list[date]]]:
    """Each month the period touches: its name, its days in the period and those out."""
    found = []
    start = first.replace(day=1)
    while start <= last:
        end = _next_month(start)
        days = [start + timedelta(d) for d in range((end - start).days)]
        days_in = [d for d in days if first <= d <= last]
        found.append((start.isoformat()[:7], days_in, [d for d in days if d not in days_in]))
        start = end
    return found


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def today(zone: ZoneInfo) -> date:
    return datetime.now(UTC).astimezone(zone).date()
