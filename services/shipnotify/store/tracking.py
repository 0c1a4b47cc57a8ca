"""TrackingStore: applies events to Redis and reads a shipment's public state back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from importlib.resources import files
from typing import Any, TypeVar

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot
from redis.exceptions import NoScriptError, RedisError, ResponseError

from shipnotify.model.codec import (
    STATUS_CODES,
    TimelineEntry,
    entry_for,
    entry_from_stored,
    entry_head,
)
from shipnotify.model.day_figures import is_courier_tap
from shipnotify.model.status import TERMINAL, Status, script_args
from shipnotify.store import intact
from shipnotify.store.couriers import CourierRuns
from shipnotify.store.day_figures import ShipmentDays
from shipnotify.store.feedback_erasure import SurveyErasure
from shipnotify.store.keys import (
    OWNER_TTL_S,
    account_key,
    owner_key,
    parties_key,
    shipment_keys,
    state_key,
    timeline_key,
    tracking_key,
)
from shipnotify.store.push import PushSubscriptions
from shipnotify.store.replies import text
from shipnotify.store.shipment_list import ShipmentList
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import shipment_events_pb2 as pb

E = TypeVar("E")
R = TypeVar("R")

# Lookups by tracking id outlive the shipment's own keys a little, then go too.
_TRACKING_LINK_TTL_S = 400 * 86400
_SHIPMENT_IDS_KEPT = 100_000  # about 20 MB


def _lua_tables() -> str:
    """The script stores and reads back an entry's previous status by its code, and decides
    progress by the rule in model/status.py: it gets both from there, as Lua tables put
    before it, so that each has one source."""
    codes = ", ".join(f"{s.value} = '{c}'" for s, c in STATUS_CODES.items())
    names = ", ".join(f"['{c}'] = '{s.value}'" for s, c in STATUS_CODES.items())
    rule = [f"local STATUS_CODES = {{{codes}}}", f"local STATUS_NAMES = {{{names}}}"]
    for i, name in enumerate(("ALWAYS_FROM", "LATER_FROM")):
        table = ", ".join(
            f"{new.value} = {{{_lua_set(script_args(new)[i].strip(',').split(','))}}}"
            for new in Status
        )
        rule.append(f"local {name} = {{{table}}}")
    rule.append(f"local TERMINAL = {{{_lua_set(s.value for s in TERMINAL)}}}")
    return "\n".join(rule) + "\n"


def _lua_set(names: Iterable[str]) -> str:
    return ", ".join(f"{n} = true" for n in names if n)


def script(name: str) -> str:
    """A script on timeline entries, with what it needs put before it."""
    texts = (files("shipnotify.store").joinpath(n).read_text() for n in ("entries.lua", name))
    return _lua_tables() + "".join(texts)


_APPLY_LUA = script("apply_events.lua")


_KINDS = {"registered": "r", "status_changed": "s", "contacts_erased": "x"}
# Errors Redis answers whatever the script does: the next try may succeed (a failover, a
# busy or loading server, memory that frees up, a script it forgot).
_TRANSIENT_CODES = (
    "BUSY", "LOADING", "READONLY", "MASTERDOWN", "OOM", "NOSCRIPT",
    "CLUSTERDOWN", "TRYAGAIN", "MOVED", "ASK", "NOREPLICAS",
)  # fmt: skip


def fails_every_time(error: RedisError) -> bool:
    """Whether Redis refused an event for what the event is: an error raised inside the
    script (a key of the wrong type, a value the script cannot read), not an answer about
    the server's state. Such an event fails again on every try."""
    message = str(error)
    inside = "@user_script" in message or "Error running script" in message
    return isinstance(error, ResponseError) and inside and not message.startswith(_TRANSIENT_CODES)


async def each_alone(
    apply: Callable[[Sequence[E]], Awaitable[list[R]]], events: Sequence[E]
) -> list[R | RedisError]:
    """`apply`, an event at a time: for a batch that Redis refused because of one of its
    events, the others' outcomes and that one's error."""
    done: list[R | RedisError] = []
    for event in events:
        try:
            done += await apply([event])
        except RedisError as e:
            if not fails_every_time(e):
                raise
            done.append(e)
    return done


@dataclass(frozen=True, slots=True)
class Applied:
    """What applying one event did. A duplicate reports what its first delivery did,
    so a redelivered event can re-emit the same notification jobs."""

    event: pb.ShipmentEvent
    duplicate: bool
    advanced: bool
    previous: Status | None
    version: int
    parties: bytes = b""  # the registration, contacts and all; only when notices are due
    # The event id was already another event's of this shipment: nothing was applied.
    conflict: bool = False
    # A registration that came after taps owes the current status's notices: the event
    # id of that status and its timeline entry as stored.
    owed: tuple[str, str] | None = None
    # The browsers subscribed to the shipment's push notices; only when notices are due.
    push: tuple[pb.PushSubscribed, ...] = ()
    # The owning account's survey settings, for a delivery that plans surveys (the tracker
    # reads them before it plans); None: the carrier's.
    survey: apb.SurveySettings | None = None

    @property
    def notices_due(self) -> bool:
        return bool(self.parties) and (self.advanced or self.owed is not None)

    @property
    def registered(self) -> pb.ShipmentRegistered | None:
        return pb.ShipmentRegistered.FromString(self.parties) if self.parties else None


@dataclass(frozen=True)
class Shipment:
    shipment_id: str
    tracking_id: str
    status: Status
    status_at_ms: int  # when the current status happened
    version: int
    timeline_raw: list[bytes]  # as stored; parsed only when asked (a 304 never is)

    @cached_property
    def timeline(self) -> list[TimelineEntry]:
        """By occurred_at, then arrival."""
        return sorted(
            (entry_from_stored(raw) for raw in self.timeline_raw),
            key=lambda e: (e.occurred_at_ms, e.recorded_at_ms),
        )


class TrackingStore:
    def __init__(
        self,
        redis: Redis,
        *,
        retention_days: int = 90,
        stale_days: int = 90,
        days: ShipmentDays | None = None,
    ) -> None:
        self._redis = redis
        self._apply = redis.register_script(_APPLY_LUA)
        self._cluster = isinstance(redis, RedisCluster)
        self._retention_s = str(retention_days * 86400)
        self._stale_s = str(stale_days * 86400)
        self._shipment_ids: dict[str, str] = {}  # tracking id -> shipment id
        self.runs = CourierRuns(redis, keep_days=stale_days)
        self.push = PushSubscriptions(redis, keep_days=stale_days)
        self.surveys = SurveyErasure(redis, keep_days=retention_days)
        self.listed = ShipmentList(redis, keep_days=retention_days)
        self.days = days  # the per-day shipment figures the applied events are folded into

    async def apply(self, events: Sequence[pb.ShipmentEvent]) -> list[Applied]:
        """Applies events in order: the courier assignments and push subscriptions among
        them (idempotent writes), then the rest in one round trip: one script call for the
        batch, or on a Redis Cluster one a slot (a call's keys must share it), each
        shipment's in order. Then, beside the script, again idempotent: who delivered, the
        surveys' personal data of the shipments whose contacts were erased, the console's
        lists of an account's shipments (shipment_list.py) and the per-day figures (`days`)
        the registrations, deliveries and courier taps change. The events
        whose notices are due come back with the shipment's push subscriptions."""
        await self.runs.assign(events)
        await self.push.apply(events)
        await self._owners(events)
        scripted = [i for i, e in enumerate(events) if e.WhichOneof("body") in _KINDS]
        applied = dict(
            zip(scripted, await self._scripted([events[i] for i in scripted]), strict=True)
        )
        done = [applied.get(i) or _aside(e) for i, e in enumerate(events)]
        due = [i for i, a in enumerate(done) if a.notices_due]
        # independent of one another, each idempotent: at once, so that their round trips
        # overlap (a failure of one fails the batch, which is applied again whole)
        *_, subscriptions = await _together(
            self.runs.delivered([d for a in done if (d := _delivery(a))]),
            self.surveys.apply(events),
            self.listed.apply(done),  # the console's lists of an account's shipments
            self._fold(done),
            self.push.of([events[i].shipment_id for i in due]),
        )
        for i, push in zip(due, subscriptions, strict=True):
            if push:
                done[i] = replace(done[i], push=push)
        return done

    async def _fold(self, done: Sequence[Applied]) -> None:
        if self.days is not None:
            await self.days.fold((a.event, a.duplicate, a.advanced) for a in done if not a.conflict)

    async def survey_settings(self, account_ids: Iterable[str]) -> dict[str, apb.SurveySettings]:
        """The accounts' survey settings, in one round trip; an account with none is left out."""
        ids = list(dict.fromkeys(account_ids))
        if not ids:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        for account_id in ids:
            pipe.hget(account_key(account_id), "survey")
        found = await pipe.execute()
        return {
            a: apb.SurveySettings.FromString(raw) for a, raw in zip(ids, found, strict=True) if raw
        }

    async def _owners(self, events: Sequence[pb.ShipmentEvent]) -> None:
        """The account each registration names owns its shipment (ingest set it already,
        with SET NX; a rebuild restores it from here). Idempotent."""
        owned = [
            e for e in events if e.WhichOneof("body") == "registered" and e.registered.account_id
        ]
        if not owned:
            return
        pipe = self._redis.pipeline(transaction=False)
        for event in owned:
            pipe.set(owner_key(event.shipment_id), event.registered.account_id, ex=OWNER_TTL_S)
        await pipe.execute()

    async def _scripted(self, events: Sequence[pb.ShipmentEvent]) -> list[Applied]:
        if not events:
            return []
        groups = self._groups(events)
        calls = [self._call([events[i] for i in group]) for group in groups]
        try:
            replies = await self._run(events, calls)
        except NoScriptError:  # a restarted Redis forgot the script: nothing ran, so again
            await self._redis.script_load(_APPLY_LUA)
            replies = await self._run(events, calls)
        applied: dict[int, Applied] = {}
        for group, results in zip(groups, replies, strict=True):
            for i, reply in zip(group, results, strict=True):
                applied[i] = _applied(events[i], reply)
        return [applied[i] for i in range(len(events))]

    async def apply_each(self, events: Sequence[pb.ShipmentEvent]) -> list[Applied | RedisError]:
        """apply(), a script call an event: for a batch that Redis refused because of one of
        its events, the others' outcomes and that one's error. Events applied before the
        refusal come back as duplicates, with what they did (those of the refused event's
        shipment before it were not written: the script writes a shipment after its last
        event of the call, so they come back as applied now)."""
        return await each_alone(self.apply, events)

    def _groups(self, events: Sequence[pb.ShipmentEvent]) -> list[list[int]]:
        """The events' positions, a list a script call."""
        if not self._cluster:
            return [list(range(len(events)))]
        slots: dict[int, list[int]] = {}
        for i, event in enumerate(events):
            slots.setdefault(key_slot(state_key(event.shipment_id).encode()), []).append(i)
        return list(slots.values())

    def _call(self, events: Sequence[pb.ShipmentEvent]) -> list[Any]:
        """EVALSHA's arguments for events of one slot (or, on one Redis, of any)."""
        keys: list[str] = []
        args: list[list[Any]] = []
        parties: list[bytes] = []
        shipments: dict[str, int] = {}  # shipment id -> n, its keys' place (from 1)
        for event in events:
            n = shipments.get(event.shipment_id)
            if n is None:
                n = shipments[event.shipment_id] = len(shipments) + 1
                keys += shipment_keys(event.shipment_id)
            args.append([*_args(event), n])
            registered = event.WhichOneof("body") == "registered"
            parties.append(event.registered.SerializeToString() if registered else b"")
        ttl = (self._retention_s, self._stale_s)
        return [self._apply.sha, len(keys), *keys, *ttl, orjson.dumps(args), *parties]

    async def _run(self, events: Sequence[pb.ShipmentEvent], calls: list[list[Any]]) -> list[Any]:
        """The calls' replies, with the registrations' tracking links set beside them. On one
        Redis all in one pipeline; a cluster client pipelines no scripts, so there the calls go
        at once, each to its node. EVALSHA goes straight: the script object's way adds a
        SCRIPT EXISTS round trip to every batch."""
        pipe = self._redis.pipeline(transaction=False)
        for event in events:
            if event.WhichOneof("body") == "registered":
                link = tracking_key(event.registered.tracking_id)
                pipe.set(link, event.shipment_id, ex=_TRACKING_LINK_TTL_S)
        if not self._cluster:
            for call in calls:
                pipe.evalsha(*call)
            return list((await pipe.execute())[-len(calls) :])
        links = pipe.execute() if len(pipe) else asyncio.sleep(0)
        scripts = [self._redis.evalsha(*call) for call in calls]
        *replies, linked = await asyncio.gather(*scripts, links, return_exceptions=True)
        # A node that forgot the script ran none of its calls; the others ran theirs, and
        # running those again would count their events as duplicates.
        forgotten = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
        if forgotten:
            await self._redis.script_load(_APPLY_LUA)
            for i in forgotten:
                replies[i] = await self._redis.evalsha(*calls[i])
        for reply in (*replies, linked):
            if isinstance(reply, BaseException):
                raise reply
        return replies

    async def shipment_id_for(self, tracking_id: str) -> str | None:
        # A tracking id is derived from its shipment id and never changes, so what was found
        # once is kept (not what was missing: the shipment may be registered later).
        if (known := self._shipment_ids.get(tracking_id)) is not None:
            return known
        shipment_id = await self._redis.get(tracking_key(tracking_id))
        if shipment_id is None:
            return None
        if len(self._shipment_ids) >= _SHIPMENT_IDS_KEPT:
            self._shipment_ids.clear()  # cheaper than an LRU, and refilled in one lookup each
        self._shipment_ids[tracking_id] = found = text(shipment_id)
        return found

    async def last_update_id(self, shipment_id: str) -> str:
        """The id of the newest change, for Last-Event-ID: the shipment's version ("0": none)."""
        version = await self._redis.hget(state_key(shipment_id), "v")
        return "0" if version is None else text(version)

    def update_feed(self) -> PubSub:
        """A pub/sub connection: apply() announces each change of a shipment, with its new
        version, on the sharded channel keys.updates_channel(id) (which shares the
        shipment's hash tag, so it works on Redis Cluster too). Pub/sub keeps nothing: a
        subscriber learns of the changes made while it is subscribed, and reads the version
        for the rest."""
        return self._redis.pubsub()

    async def shipment(self, sid: str) -> Shipment | None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.hgetall(state_key(sid))
        pipe.hvals(timeline_key(sid))
        state, raw_entries = await pipe.execute()
        if not state.get(b"s"):
            return None
        return Shipment(
            shipment_id=sid,
            tracking_id=bytes(state.get(b"t", b"")).decode(),
            status=Status(state[b"s"].decode()),
            status_at_ms=int(state[b"o"]),
            version=int(state.get(b"v", 0)),
            timeline_raw=raw_entries,
        )

    async def sent_again_basis(
        self, shipment_id: str, status_event_id: str
    ) -> tuple[bytes, bytes | None, int, tuple[pb.PushSubscribed, ...]]:
        """What a notice sent again is planned from (model/sent_again.py): the shipment's
        registration (b"" once its contacts were erased), the timeline entry of the status
        event it told of, when its contacts were last erased (ms, 0: never) and its push
        subscriptions. One round trip, its keys sharing the shipment's hash tag."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.get(parties_key(shipment_id))
        pipe.hget(timeline_key(shipment_id), status_event_id)
        pipe.hget(state_key(shipment_id), "x")
        parties, entry, erased = await pipe.execute()
        erased_ms = int(text(erased).split(",", 1)[0]) if erased else 0
        [push] = await self.push.of([shipment_id])
        return bytes(parties or b""), entry, erased_ms, push

    async def check_intact(self) -> None:
        await intact.check(self._redis)

    async def ping(self) -> bool:
        return bool(await self._redis.ping())


async def _together(*steps: Awaitable[Any]) -> list[Any]:
    """The steps' results, run at once; the first failure cancels the rest and is raised as
    it is (the callers tell a Redis error by its type)."""
    tasks = [asyncio.ensure_future(step) for step in steps]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _args(event: pb.ShipmentEvent) -> list[Any]:
    """An event's arguments to the script, in its order (A[6], the parties, goes apart)."""
    kind = _KINDS[str(event.WhichOneof("body"))]
    if kind == "x":  # no status, no timeline entry: when, for the notices planned before it
        return [event.event_id, "", str(_ms(event.recorded_at)), "", "", "", kind, ""]
    entry = entry_for(event)
    return [
        event.event_id,
        entry.status.value,
        str(entry.occurred_at_ms),  # a Lua number prints only 14 digits
        entry_head(entry),
        event.registered.tracking_id,  # "" unless a registration
        "",
        kind,
        "c" if is_courier_tap(event) else "",
    ]


def _delivery(applied: Applied) -> tuple[str, str] | None:
    """(shipment id, courier id) of a delivery that made its shipment delivered."""
    event = applied.event
    if not applied.advanced or event.WhichOneof("body") != "status_changed":
        return None
    change = event.status_changed
    if change.status != pb.STATUS_DELIVERED or not change.courier_id:
        return None
    return event.shipment_id, change.courier_id


def _aside(event: pb.ShipmentEvent) -> Applied:
    """An event applied apart from the script (an assignment, a push subscription): it moves
    no status and calls for no notice."""
    return Applied(event=event, duplicate=False, advanced=False, previous=None, version=0)


def _applied(event: pb.ShipmentEvent, reply: list[Any]) -> Applied:
    outcome, advanced, previous, version, parties, owed, owed_entry = reply
    prev = text(previous)
    return Applied(
        event=event,
        duplicate=outcome == 1,
        advanced=bool(advanced),
        previous=Status(prev) if prev else None,
        version=int(version),
        parties=parties or b"",
        conflict=outcome == 2,
        owed=(text(owed), text(owed_entry)) if owed else None,
    )


def _ms(t: Any) -> int:
    return int(t.seconds) * 1000 + int(t.nanos) // 1_000_000
