"""The per-day shipment and notice figures in Redis, beside the satisfaction figures
(survey_days.py) and by the same script (`day_parts.lua`): each shipment's or notice's part
(model/day_figures.py) is written under its member in its day's parts hash, taking back what
it wrote before, into the day's and the month's hash of the cut, of every shipment and of
the shipment's account. So a redelivered event, a replay or a retried fold counts once.

Shipments are folded by the tracker as it applies their events (TrackingStore.apply), and so
restored by `shipnotify rebuild`, which replays the events topic through the same store.
Notices are folded by the feedback consumer from the outcomes the notifier appends to the
feedback topic as each notice becomes final, and the SMS receipts hooks appends: a rebuild
replays them too."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from importlib.resources import files
from time import time as time_now
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError

from shipnotify.model import day_figures as figures
from shipnotify.model.day_figures import NOTICES, SHIPMENTS, Part
from shipnotify.model.survey_days import day_of
from shipnotify.store.keys import figure_parts_key, owner_key, state_key, survey_cut_key
from shipnotify.store.replies import text
from shipnotify.store.survey_days import _next_month, plan, today
from shipnotify.v1 import feedback_pb2 as fpb
from shipnotify.v1 import shipment_events_pb2 as pb

_LUA = files("shipnotify.store").joinpath("day_parts.lua").read_text()
_MANY_LUA = files("shipnotify.store").joinpath("day_parts_many.lua").read_text()
_DAY_MS = 86_400_000
Call = tuple[list[str], list[str | int]]  # a script call's keys and arguments
# How long after its day a notice's part is kept: its outcome and its receipts come within
# hours (a retry's age limit, the provider's receipts). Every part of a day's hash is kept as
# long, as each write sets the hash's time to live.
_NOTICE_DAYS = 2


@dataclass(frozen=True)
class Wanted:
    """A cut's counts from `first` to `last`, both in, of every shipment or of an account's."""

    first: date
    last: date
    cut: str
    account: str = ""


@dataclass
class DayFigures:
    redis: Redis
    zone: ZoneInfo
    keep_days: int = 400  # how long a day's figures are kept
    _write: Any = field(init=False, repr=False)
    _write_many: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._write = self.redis.register_script(_LUA)
        self._write_many = self.redis.register_script(_MANY_LUA)

    async def read(self, wanted: Sequence[Wanted]) -> list[Part]:
        """Each wanted cut's counts summed over its days, all in one round trip: a month's
        hash for a month wholly in, else its days in or the month less its days out
        (survey_days.plan)."""
        oldest = today(self.zone) - timedelta(self.keep_days - 1)
        pipe = self.redis.pipeline(transaction=False)
        sizes: list[tuple[int, int]] = []
        for w in wanted:
            added, taken = plan(w.first, w.last, oldest)
            for period in (*added, *taken):
                pipe.hgetall(survey_cut_key(period, w.cut, w.account))
            sizes.append((len(added), len(taken)))
        found: list[dict[Any, Any]] = await pipe.execute() if sizes else []
        sums, at = [], 0
        for plus, minus in sizes:
            sums.append(figures.summed(found[at : at + plus], found[at + plus : at + plus + minus]))
            at += plus + minus
        return sums

    async def write(
        self,
        kind: str,
        member: str,
        day: date,
        part: Part,
        account: str,
        *,
        repair: bool = False,
        kept_days: int = 1,
    ) -> None:
        """A member's part of its day's cut `kind`, of every shipment and of `account`'s,
        replacing the one written before; the part kept `kept_days` after its day, and a day
        at least (a replay brings old days minutes apart)."""
        keys, args = self._call(kind, member, day, part, account, repair, kept_days)
        await self._write(keys=keys, args=args)

    async def write_all(self, calls: Sequence[Call]) -> None:
        """Many members' parts (`_call`'s), in their order: one `day_parts_many.lua` call a
        month (its keys share the month's hash tag), in one pipeline, or on a Redis Cluster
        at once (a cluster client pipelines no scripts). EVALSHA straight: the script
        object's way adds a SCRIPT EXISTS round trip."""
        if not calls:
            return
        months: dict[str, list[Call]] = {}
        for call in calls:
            months.setdefault(call[0][0].split("}", 1)[0], []).append(call)
        batched = [_many(month) for month in months.values()]
        if isinstance(self.redis, RedisCluster):
            await asyncio.gather(*(self._write_many(keys=k, args=a) for k, a in batched))
            return

        def pipeline() -> Pipeline:
            pipe = self.redis.pipeline(transaction=False)
            for keys, args in batched:
                pipe.evalsha(self._write_many.sha, len(keys), *keys, *args)
            return pipe

        try:
            await pipeline().execute()
        except NoScriptError:  # a restarted Redis forgot the script: none ran, so again
            await self.redis.script_load(_MANY_LUA)
            await pipeline().execute()

    def _call(
        self,
        kind: str,
        member: str,
        day: date,
        part: Part,
        account: str,
        repair: bool | None,
        kept_days: int,
    ) -> Call:
        """`repair`: the part is a duplicate's, which writes only where its day's parts are
        kept; None: nobody knows, so where they are gone it writes only if its day has no
        figures of the kind yet (a rebuild onto figures that have it long ago)."""
        accounts = ("", account) if account else ("",)
        keys = [figure_parts_key(day.isoformat(), kind)]
        keys += [survey_cut_key(day.isoformat(), kind, a) for a in accounts]
        keys += [survey_cut_key(day.isoformat()[:7], kind, a) for a in accounts]
        day_end, month_end = self._end(day + timedelta(1)), self._end(_next_month(day))
        kept = max(day_end + kept_days * _DAY_MS, int(time_now() * 1000) + _DAY_MS)
        args: list[str | int] = [
            member,
            json.dumps([part] * len(accounts), sort_keys=True, separators=(",", ":")),
            "2" if repair is None else "1" if repair else "0",
            kept,
            day_end + self.keep_days * _DAY_MS,
            month_end + self.keep_days * _DAY_MS,
        ]
        return keys, args

    def day(self, at_ms: int) -> date:
        return day_of(at_ms, self.zone).date()

    def _end(self, start_of_next: date) -> int:
        return int(datetime.combine(start_of_next, time(), self.zone).timestamp() * 1000)


@dataclass
class ShipmentDays(DayFigures):
    """Shipments registered, delivered and covered a day, folded as the tracker applies
    their events."""

    change_days: int = 2  # how long after its day a shipment's part may still change

    async def fold(self, applied: Iterable[tuple[pb.ShipmentEvent, bool, bool]]) -> None:
        """Folds in what these applied events (each with whether it was a duplicate and
        whether it advanced its shipment) change:
        a registration's part, and the delivery's part of a shipment delivered, or tapped
        by its courier since (a late tap from the app's offline queue may cover it).

        Only a delivery applied for the first time writes a part where its day's parts are
        gone; a duplicate, or a tap after the delivery, only repairs or replaces a part while
        its day's parts are kept (`change_days`): a tap that comes later covers nothing, and
        never counts the delivery twice. So the parts take a few days' room, not the taps'
        age (a day's parts are one hash on one Redis node)."""
        registrations: dict[str, tuple[pb.ShipmentEvent, bool]] = {}
        touched: dict[str, bool] = {}  # shipment id -> only a repair (no first delivery)
        for event, duplicate, advanced in applied:
            sid, body = event.shipment_id, event.WhichOneof("body")
            if body == "registered":
                registrations[sid] = (event, registrations.get(sid, (event, True))[1] and duplicate)
            elif body == "status_changed" and event.status_changed.status == pb.STATUS_DELIVERED:
                # the one that delivered it, the first time; another delivered only repairs
                touched[sid] = touched.get(sid, True) and (duplicate or not advanced)
            elif figures.is_courier_tap(event) and not advanced:
                # one that moved its shipment on found it undelivered (a delivery is final):
                # only a tap kept behind the status may come after the delivery
                touched[sid] = touched.get(sid, True)
        if not registrations and not touched:
            return
        # every part of a day's hash kept as long: each write sets the hash's time to live,
        # and a shorter one would drop the parts that may still change
        kept = self.change_days + 1
        calls = [
            self._call(
                SHIPMENTS,
                "r:" + sid,
                *figures.registration_part(_ms(event.occurred_at), self.zone),
                event.registered.account_id,
                duplicate,
                kept,
            )
            for sid, (event, duplicate) in registrations.items()
        ]
        calls += [
            self._call(SHIPMENTS, "d:" + sid, day, part, account, repair, kept)
            for sid, repair, day, part, account in await self._deliveries(touched)
        ]
        await self.write_all(calls)

    async def _deliveries(
        self, touched: Mapping[str, bool]
    ) -> list[tuple[str, bool, date, Part, str]]:
        """The touched shipments that are delivered: each with its delivery's part and its
        account, their states read in one round trip."""
        ids = list(touched)
        pipe = self.redis.pipeline(transaction=False)
        for sid in ids:
            pipe.hmget(state_key(sid), "s", "o", "c")
            pipe.get(owner_key(sid))
        replies = await pipe.execute()
        found = []
        for i, sid in enumerate(ids):
            (status, at, first_tap), owner = replies[2 * i], replies[2 * i + 1]
            if status is None or text(status) != "delivered" or at is None:
                continue
            tap = int(first_tap) if first_tap is not None else None
            day, part = figures.delivery_part(int(at), tap, self.zone)
            found.append((sid, touched[sid], day, part, text(owner) if owner else ""))
        return found


@dataclass
class NoticeDays(DayFigures):
    """Notices sent and failed a day by channel, the status notices' tap-to-notice latency,
    and SMS delivery receipts: folded by the feedback consumer from the notifier's
    NoticeSettled and hooks' NoticeReceipt, on the day each notice was planned, once per
    notification id."""

    async def fold(self, events: Sequence[fpb.FeedbackEvent]) -> None:
        """These notice events' parts, for the account each names, else its shipment's
        owner (read in one round trip); of a member twice in the batch, the later."""
        parts = {p.member: (e, p) for e in events for p in [figures.notice_event_part(e)]}
        unnamed = sorted({e.shipment_id for e, p in parts.values() if not p.account})
        owners = dict(zip(unnamed, await self._owners(unnamed), strict=True))
        calls = [
            self._call(
                NOTICES,
                member,
                self.day(part.planned_ms),
                part.part,
                part.account or owners.get(event.shipment_id, ""),
                None,
                _NOTICE_DAYS,
            )
            for member, (event, part) in parts.items()
        ]
        await self.write_all(calls)

    async def _owners(self, shipment_ids: Sequence[str]) -> list[str]:
        pipe = self.redis.pipeline(transaction=False)
        for sid in shipment_ids:
            pipe.get(owner_key(sid))
        found = await pipe.execute() if shipment_ids else []
        return [text(o) if o else "" for o in found]


def _many(calls: Sequence[Call]) -> Call:
    """`_call`s of one month as one call of day_parts_many.lua: each key once, each part
    naming its keys by their place."""
    keys: list[str] = []
    places: dict[str, int] = {}

    def place(key: str) -> int:
        if key not in places:
            keys.append(key)
            places[key] = len(keys)  # Lua counts from 1
        return places[key]

    parts = []
    for call_keys, args in calls:
        n = (len(call_keys) - 1) // 2
        member, part, mode, kept, day_end, month_end = args
        parts.append(
            [
                place(call_keys[0]),
                [place(k) for k in call_keys[1 : n + 1]],
                [place(k) for k in call_keys[n + 1 :]],
                member,
                part,
                mode,
                str(kept),
                str(day_end),
                str(month_end),
            ]
        )
    return keys, [json.dumps(parts, separators=(",", ":"), ensure_ascii=False)]


def _ms(t: Any) -> int:
    return int(t.seconds) * 1000 + int(t.nanos) // 1_000_000
