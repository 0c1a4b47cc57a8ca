"""Which courier has which shipment: the tracker writes assignments, ingest reads a courier's
run (the stops of the app's list, with the recipient's details the job needs)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis

from shipnotify.model.status import Status
from shipnotify.store.keys import courier_key, parties_key, run_key, state_key, tracking_key
from shipnotify.store.replies import text
from shipnotify.v1 import shipment_events_pb2 as pb

_MAX_STOPS = 500  # a run longer than a day's work is an operator's mistake: the newest count


@dataclass(frozen=True)
class Stop:
    """A shipment as the courier's app shows it."""

    shipment_id: str
    tracking_id: str
    status: Status | None
    status_at_ms: int
    courier_id: str
    recipient: pb.Contact | None
    delivery_address: str


def assignment(event: pb.ShipmentEvent) -> str | None:
    """The courier an event gives its shipment to ("" nobody), or None if it says nothing."""
    body = event.WhichOneof("body")
    if body == "courier_assigned":
        return event.courier_assigned.courier_id
    if body == "registered" and event.registered.courier_id:
        return event.registered.courier_id
    return None


class CourierRuns:
    def __init__(self, redis: Redis, *, keep_days: int = 90) -> None:
        self._redis = redis
        self._keep_s = keep_days * 86400

    async def assign(self, events: Sequence[pb.ShipmentEvent]) -> int:
        """Applies the assignments among `events`, in order; each is idempotent, so a
        redelivered batch ends where the first delivery did. Returns how many there were."""
        found = [(e, c) for e in events if (c := assignment(e)) is not None]
        if not found:
            return 0
        before = await self.couriers_of([e.shipment_id for e, _ in found])
        held = {e.shipment_id: c for (e, _), c in zip(found, before, strict=True)}
        pipe = self._redis.pipeline(transaction=False)
        for event, courier in found:
            sid = event.shipment_id
            if held[sid] and held[sid] != courier:
                pipe.zrem(run_key(held[sid]), sid)
            held[sid] = courier
            if not courier:
                pipe.delete(courier_key(sid))
                continue
            at_ms = event.occurred_at.ToMilliseconds()
            pipe.set(courier_key(sid), courier, ex=self._keep_s)
            pipe.zadd(run_key(courier), {sid: at_ms})
            pipe.zremrangebyscore(run_key(courier), 0, at_ms - self._keep_s * 1000)
            pipe.expire(run_key(courier), self._keep_s)
        await pipe.execute()
        return len(found)

    async def delivered(self, deliveries: Sequence[tuple[str, str]]) -> None:
        """Who delivered each (shipment id, courier id): kept in the shipment's state (`d`),
        so that a call-back case finds a courier when nobody was assigned. Idempotent."""
        if not deliveries:
            return
        pipe = self._redis.pipeline(transaction=False)
        for sid, courier in deliveries:
            pipe.hset(state_key(sid), "d", courier)
        await pipe.execute()

    async def couriers_of(self, shipment_ids: Sequence[str]) -> list[str]:
        """Each shipment's courier ("" nobody), in one round trip."""
        pipe = self._redis.pipeline(transaction=False)  # GETs: the keys span slots
        for sid in shipment_ids:
            pipe.get(courier_key(sid))
        held = await pipe.execute() if shipment_ids else []
        return [text(c) if c else "" for c in held]

    async def run(self, courier_id: str) -> list[Stop]:
        """The courier's shipments, newest assignment first; those given to another since,
        or gone (expired), left out."""
        newest = await self._redis.zrevrange(run_key(courier_id), 0, _MAX_STOPS - 1)
        ids = [text(cast(bytes, s)) for s in newest]
        stops = await self._stops(ids)
        return [s for s in stops if s.courier_id == courier_id and s.tracking_id]

    async def stop(self, tracking_id: str) -> Stop | None:
        """The shipment of a tracking id (typed or scanned), whoever has it."""
        shipment_id = await self._redis.get(tracking_key(tracking_id))
        if shipment_id is None:
            return None
        found = await self._stops([text(shipment_id)])
        return found[0] if found and found[0].tracking_id else None

    async def _stops(self, ids: Sequence[str]) -> list[Stop]:
        pipe = self._redis.pipeline(transaction=False)
        for sid in ids:
            pipe.hmget(state_key(sid), "s", "o", "t")
            pipe.get(courier_key(sid))
            pipe.get(parties_key(sid))
        replies = await pipe.execute() if ids else []
        return [_stop(sid, *replies[3 * i : 3 * i + 3]) for i, sid in enumerate(ids)]


def _stop(
    sid: str, state: list[bytes | None], courier: bytes | None, parties: bytes | None
) -> Stop:
    status, at, tracking = state
    registered = pb.ShipmentRegistered.FromString(parties) if parties else None
    contacts = registered.recipient.contacts if registered else []
    return Stop(
        shipment_id=sid,
        tracking_id=text(tracking) if tracking else "",
        status=Status(text(status)) if status else None,
        status_at_ms=int(at) if at else 0,
        courier_id=text(courier) if courier else "",
        recipient=contacts[0] if contacts else None,
        delivery_address=registered.delivery_address if registered else "",
    )
