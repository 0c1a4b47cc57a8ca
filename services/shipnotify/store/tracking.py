"""TrackingStore: applies events to Redis and reads a shipment's public state back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from redis.asyncio import Redis

from shipnotify.model.codec import (
    TimelineEntry,
    entry_for,
    entry_from_json,
    entry_head,
    event_status,
)
from shipnotify.model.status import TERMINAL, Status, script_args
from shipnotify.store import intact
from shipnotify.v1 import shipment_events_pb2 as pb

_APPLY_LUA = files("shipnotify.store").joinpath("apply_event.lua").read_text()
# Lookups by tracking id outlive the shipment's own keys a little, then go too.
_TRACKING_LINK_TTL_S = 400 * 86400


def shipment_keys(shipment_id: str) -> list[str]:
    tag = "{shp:" + shipment_id + "}"
    return [tag + ":state", tag + ":timeline", tag + ":parties", tag + ":updates"]


def tracking_key(tracking_id: str) -> str:
    return "trk:" + tracking_id


@dataclass(frozen=True, slots=True)
class Applied:
    """What applying one event did. A duplicate reports what its first delivery did,
    so a redelivered event can re-emit the same notification jobs."""

    event: pb.ShipmentEvent
    duplicate: bool
    advanced: bool
    previous: Status | None
    version: int
    registered: pb.ShipmentRegistered | None = None  # with contacts; only when advanced


@dataclass(frozen=True, slots=True)
class Shipment:
    shipment_id: str
    tracking_id: str
    status: Status
    status_at_ms: int  # when the current status happened
    version: int
    timeline: list[TimelineEntry]  # by occurred_at, then arrival


class TrackingStore:
    def __init__(self, redis: Redis, *, retention_days: int = 90) -> None:
        self._redis = redis
        self._apply = redis.register_script(_APPLY_LUA)
        self._retention_s = str(retention_days * 86400)

    async def apply(self, events: Sequence[pb.ShipmentEvent]) -> list[Applied]:
        """Applies events in order, in one pipelined round trip, one script call each."""
        if not events:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for event in events:
            if event.WhichOneof("body") == "registered":
                pipe.set(
                    tracking_key(event.registered.tracking_id),
                    event.shipment_id,
                    ex=_TRACKING_LINK_TTL_S,
                )
            await self._apply(
                keys=shipment_keys(event.shipment_id), args=self._args(event), client=pipe
            )
        replies = [r for r in await pipe.execute() if isinstance(r, list)]
        return [_applied(event, reply) for event, reply in zip(events, replies, strict=True)]

    def _args(self, event: pb.ShipmentEvent) -> list[Any]:
        status = event_status(event)
        always, later = script_args(status)
        registered = event.WhichOneof("body") == "registered"
        return [
            event.event_id,
            status.value,
            event.occurred_at.ToMilliseconds(),
            entry_head(entry_for(event)),
            always,
            later,
            event.registered.SerializeToString() if registered else b"",
            event.registered.tracking_id if registered else "",
            "1" if status in TERMINAL else "0",
            self._retention_s,
        ]

    async def shipment_id_for(self, tracking_id: str) -> str | None:
        shipment_id = await self._redis.get(tracking_key(tracking_id))
        if shipment_id is None:
            return None
        return shipment_id.decode() if isinstance(shipment_id, bytes) else str(shipment_id)

    async def shipment_by_tracking_id(self, tracking_id: str) -> Shipment | None:
        sid = await self.shipment_id_for(tracking_id)
        return None if sid is None else await self.shipment(sid)

    async def last_update_id(self, shipment_id: str) -> str:
        """The id of the newest change, for Last-Event-ID; "0-0" when none is kept."""
        newest: Any = await self._redis.xrevrange(shipment_keys(shipment_id)[3], count=1)
        return text(newest[0][0]) if newest else "0-0"

    async def next_update(self, shipment_id: str, after: str, wait_ms: int) -> str | None:
        """Waits up to wait_ms for a change after the id `after`; returns the newest id."""
        reply: Any = await self._redis.xread(  # RESP2: [[key, [(id, fields), ...]]]
            {shipment_keys(shipment_id)[3]: after}, block=wait_ms
        )
        if not reply:
            return None
        entries = reply[0][1]
        return text(entries[-1][0]) if entries else None

    async def shipment(self, sid: str) -> Shipment | None:
        state_key, timeline_key, *_ = shipment_keys(sid)
        pipe = self._redis.pipeline(transaction=False)
        pipe.hgetall(state_key)
        pipe.hvals(timeline_key)
        state, raw_entries = await pipe.execute()
        if not state.get(b"s"):
            return None
        timeline = sorted(
            (entry_from_json(raw) for raw in raw_entries),
            key=lambda e: (e.occurred_at_ms, e.recorded_at_ms),
        )
        return Shipment(
            shipment_id=sid,
            tracking_id=bytes(state.get(b"t", b"")).decode(),
            status=Status(state[b"s"].decode()),
            status_at_ms=int(state[b"o"]),
            version=int(state.get(b"v", 0)),
            timeline=timeline,
        )

    async def check_intact(self) -> None:
        await intact.check(self._redis)

    async def ping(self) -> bool:
        return bool(await self._redis.ping())


def _applied(event: pb.ShipmentEvent, reply: list[Any]) -> Applied:
    duplicate, advanced, previous, version, parties = reply
    prev = previous.decode() if isinstance(previous, bytes) else previous
    registered = pb.ShipmentRegistered.FromString(parties) if parties else None
    return Applied(
        event=event,
        duplicate=bool(duplicate),
        advanced=bool(advanced),
        previous=Status(prev) if prev else None,
        version=int(version),
        registered=registered,
    )


def text(value: bytes | str) -> str:
    """A Redis reply as str, whichever way the client decoded it."""
    return value.decode() if isinstance(value, bytes) else str(value)
