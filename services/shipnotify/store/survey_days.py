"""The per-day satisfaction figures in Redis: each survey's part (model/survey_days.py) folded
into its day's cuts by one script call (`day_parts.lua`), which takes back what the survey
added before; read back summed over a range of days in one round trip. The feedback store
folds the surveys its events touched (the tracker's feedback consumer, and `rebuild`, which
replays the feedback topic into an empty Redis). Keys: store/keys.py; a day's share one hash
tag, so a call touches one Redis Cluster slot."""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from importlib.resources import files
from time import monotonic
from time import time as time_now
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from shipnotify.model import survey, survey_days
from shipnotify.model.codec import TimelineEntry, entry_from_stored
from shipnotify.model.status import Status
from shipnotify.model.survey_days import CUTS, SurveyFact
from shipnotify.store.feedback_records import FeedbackApplied, Survey, answerable
from shipnotify.store.keys import STORE_MARKER as MARKER
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

T = TypeVar("T")
_LUA = files("shipnotify.store").joinpath("day_parts.lua").read_text()
_DAY_MS = 86_400_000
# Days past the answer window before a day's figures count as settled: a day for the carrier's
# time zone against the consumers', and a day for a tracker catching up after an outage.
_SETTLING_DAYS = 2


@dataclass(frozen=True)
class Group:
    """Hashes read together: when settled, as their sum (one hash), kept once read."""

    keys: tuple[str, ...]
    settled: bool


class Summed(dict[Any, int]):
    """A settled sum as `Settled` keeps it, with what readers made of it (`made`): parsed
    once, not on every request."""

    __slots__ = ("kept",)

    def __init__(self, counts: Mapping[Any, int]) -> None:
        super().__init__(counts)
        self.kept: dict[Hashable, Any] = {}


def made(counts: Mapping[Any, Any], what: Hashable, make: Callable[[Mapping[Any, Any]], T]) -> T:
    """make(counts): made once for a settled sum (`Summed`) and kept with it, so `make` must
    give the same for the same counts and `what` name what it makes; its result is shared,
    to be read, not changed."""
    if not isinstance(counts, Summed):
        return make(counts)
    if what in counts.kept:
        return cast(T, counts.kept[what])
    found = counts.kept[what] = make(counts)
    return found


class Settled:
    """Sums of hashes nothing changes any more (days and months past the answer window), kept
    once read, so that a year's page reads a few fresh hashes, not hundreds: a sum is read
    again after `for_s` (a consumer far behind), all are dropped when the store's marker
    changes (a rebuild), and the oldest go past `max_fields` held (a million fields: some
    100 MB at most, twice that with what pages made of them, `made`)."""

    def __init__(self, *, for_s: float = 300.0, max_fields: int = 1_000_000) -> None:
        self.for_s, self.max_fields = for_s, max_fields
        self._sums: OrderedDict[tuple[str, ...], tuple[float, Summed]] = OrderedDict()
        self._fields = 0
        self._marker: Any = None

    async def read(self, redis: Redis, groups: Sequence[Group]) -> list[list[dict[Any, Any]]]:
        """Each group's hashes: a settled one's sum (one hash, none when it has no key), the
        others as Redis answers them; what is missing read in one round trip."""
        now = monotonic()
        cached = {
            g.keys: kept
            for g in groups
            if g.settled and g.keys and (kept := self._fresh(g.keys, now)) is not None
        }
        wanted = {g.keys: g.settled for g in groups if g.keys and g.keys not in cached}
        pipe = redis.pipeline(transaction=False)
        pipe.get(MARKER)
        for keys in wanted:
            for key in keys:
                pipe.hgetall(key)
        marker, *replies = await pipe.execute()
        if marker != self._marker:  # a rebuild, or Redis lost: what was summed may be gone
            self._sums.clear()
            self._fields, self._marker = 0, marker
            if cached:
                return await self.read(redis, groups)  # nothing cached now: read it all
        read: dict[tuple[str, ...], list[dict[Any, Any]]] = {}
        for keys, settled in wanted.items():
            read[keys], replies = replies[: len(keys)], replies[len(keys) :]
            if settled:
                summed = _sum(read[keys])
                read[keys] = [summed]
                if marker is not None:
                    self._keep(keys, summed, now)
        return [
            [] if not g.keys else [cached[g.keys]] if g.keys in cached else read[g.keys]
            for g in groups
        ]

    def drop_older(self, age_s: float) -> None:
        """Forgets the sums read more than `age_s` ago, so that the next read, a warm-up's
        ahead of the pages' (console/kpis.py), reads them again."""
        oldest = monotonic() - age_s
        for keys in [k for k, (at, _) in self._sums.items() if at < oldest]:
            self._fields -= len(self._sums.pop(keys)[1])

    def _fresh(self, keys: tuple[str, ...], now: float) -> Summed | None:
        kept = self._sums.get(keys)
        if kept is None or now - kept[0] > self.for_s:
            return None
        self._sums.move_to_end(keys)
        return kept[1]

    def _keep(self, keys: tuple[str, ...], summed: Summed, now: float) -> None:
        if (old := self._sums.pop(keys, None)) is not None:
            self._fields -= len(old[1])
        self._sums[keys] = (now, summed)
        self._fields += len(summed)
        while self._fields > self.max_fields and len(self._sums) > 1:
            _, (_, dropped) = self._sums.popitem(last=False)
            self._fields -= len(dropped)


def _sum(hashes: Sequence[Mapping[Any, Any]]) -> Summed:
    if len(hashes) == 1:
        return Summed({name: int(n) for name, n in hashes[0].items()})
    summed = Summed({})
    add = summed.get
    for counts in hashes:
        for name, n in counts.items():
            summed[name] = add(name, 0) + int(n)
    return summed


def _settled(period: str, before: str) -> bool:
    """Whether a day (YYYY-MM-DD) or a month (YYYY-MM) ended before `before` (a day)."""
    return period < before[: len(period)] if len(period) == 7 else period < before


@dataclass
class SurveyDays:
    redis: Redis
    zone: ZoneInfo
    answer_days: int = 7  # how long a survey's part may still change
    keep_days: int = 400  # how long a day's figures are kept
    settled: Settled = field(default_factory=lambda: Settled())
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
        fewer (`plan`). Settled days and months are summed once (`Settled`)."""
        now = today(self.zone)
        added, taken = plan(first, last, now - timedelta(self.keep_days - 1))  # older: gone
        days = [first + timedelta(d) for d in range((last - first).days + 1)] if each_day else []
        before = (now - timedelta(self.answer_days + _SETTLING_DAYS)).isoformat()
        groups: list[Group] = []
        for cut in cuts:
            for periods in (added, taken):
                keys = [(p, survey_cut_key(p, cut, account)) for p in periods]
                groups.append(Group(tuple(k for p, k in keys if _settled(p, before)), True))
                groups.append(Group(tuple(k for p, k in keys if not _settled(p, before)), False))
        for day in days:
            key = survey_cut_key(day.isoformat(), each_day, account)
            groups.append(Group((key,), _settled(day.isoformat(), before)))
        found = await self.settled.read(self.redis, groups)
        spans = {
            cut: Span(found[4 * i] + found[4 * i + 1], found[4 * i + 2] + found[4 * i + 3])
            for i, cut in enumerate(cuts)
        }
        return spans, [hashes[0] for hashes in found[4 * len(cuts) :]]

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
