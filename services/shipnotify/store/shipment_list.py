"""The shipments listed by account, for the console's shipments page: sorted sets of shipment
ids by registration time, one a status, an account's and every shipment's
(keys.shipments_key), so that a page of one account's delivered shipments reads its 50 rows
and no more; a page of every status merges each status's first 51 (a shipment is listed under
one status: two entries a shipment, one for the carrier's own).

`TrackingStore.apply` keeps them after its script, like the other writes beside it: it reads
where each shipment of the batch is listed (`l` in its `{shp:<id>}:state`, beside the status
`s`; it goes with the state: the account, the registration's time and the status), in one
script call for the batch (one a slot on a Redis Cluster), writes what changed in the sets
in one round trip (a command a set), then notes the new listings in one more call. What a
shipment should be listed as comes from its state as it then stands, not from the batch's
events, so a redelivered batch, or one replayed by `rebuild`, ends where the first delivery
did (or repairs what a crash between the script and these writes left undone). Which writes
a change makes is decided in Python, without I/O (`listing_for`, `moves`).

A set forgets a shipment registered `keep_days` ago (trimmed as the tracker writes it; a
read never asks for older ones)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript
from redis.crc import key_slot

from shipnotify.model.status import Status
from shipnotify.store.keys import shipments_key, state_key
from shipnotify.store.replies import text

if TYPE_CHECKING:
    from shipnotify.store.tracking import Applied

_TIES_READ = 10_000  # shipments registered in the same millisecond that a page may step over
STATUSES = tuple(s.value for s in Status)


@dataclass(frozen=True, slots=True)
class Listing:
    """Where a shipment is listed: its account ("": the carrier's), when it was registered
    (ms) and its status."""

    account: str
    registered_ms: int
    status: str

    def encode(self) -> str:
        return f"{self.account}|{self.registered_ms}|{self.status}"

    @classmethod
    def decode(cls, raw: bytes | str | None) -> Listing | None:
        if not raw:
            return None
        account, registered, status = text(raw).split("|")
        return cls(account, int(registered), status)


@dataclass(frozen=True, slots=True)
class Move:
    """One write to a list: a shipment put in (`score` its registration time) or taken out."""

    key: str
    add: bool
    score: int = 0


def listing_for(
    *, old: Listing | None, registered_ms: int | None, owner: str, status: str
) -> Listing | None:
    """What a shipment should be listed as, by its state now: its owner, its current status
    (""; it has no state) and its registration's time (that of the registration in the batch,
    else the one it was listed with). None: not to be listed (not registered yet, or no
    state). Pure."""
    if not status:
        return None
    when = registered_ms if registered_ms is not None else old.registered_ms if old else None
    if when is None:
        return None
    return Listing(owner, when, status)


def moves(old: Listing | None, new: Listing | None) -> list[Move]:
    """The writes that take a shipment from being listed as `old` to `new`: out of the sets
    it leaves, into (again: idempotent) those it is in, every shipment's and, when it has an
    owner, its account's. Pure."""
    if old == new:
        return []
    kept = _keys(new)
    out = [Move(key, add=False) for key in _keys(old) if key not in kept]
    if new is not None:
        out += [Move(key, add=True, score=new.registered_ms) for key in kept]
    return out


def _keys(listing: Listing | None) -> list[str]:
    if listing is None:
        return []
    return [shipments_key(a, listing.status) for a in dict.fromkeys(("", listing.account))]


def touched(applied: Iterable[Applied]) -> dict[str, int | None]:
    """The shipments whose listing an applied batch may change: those with a registration or
    a status change applied (or redelivered), with the registration's time (ms) when the
    batch holds it."""
    found: dict[str, int | None] = {}
    for a in applied:
        if a.conflict:
            continue
        body = a.event.WhichOneof("body")
        if body == "registered":
            found[a.event.shipment_id] = _ms(a.event.occurred_at)
        elif body == "status_changed":
            found.setdefault(a.event.shipment_id, None)
    return found


@dataclass(frozen=True, slots=True)
class Listed:
    """A row of the list: a shipment and what its state says now."""

    shipment_id: str
    registered_ms: int
    tracking_id: str
    status: Status | None  # None: its state is gone (expired) while it is still listed
    status_at_ms: int
    account: str  # its owner ("": the carrier's)


Cursor = tuple[int, str]  # the last row shown: its registration time (ms) and shipment id


# KEYS: shipments' state hashes. Per shipment, its status and listing.
_READ_LUA = """
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('HMGET', key, 's', 'l') end
return out
"""
# KEYS: shipments' state hashes, ARGV[i] the ith's listing ("": listed nowhere). A state that
# expired meanwhile is not made again.
_NOTE_LUA = """
local out = {}
for i, key in ipairs(KEYS) do
  if ARGV[i] == '' then
    out[i] = redis.call('HDEL', key, 'l')
  elseif redis.call('EXISTS', key) == 1 then
    out[i] = redis.call('HSET', key, 'l', ARGV[i])
  else
    out[i] = 0
  end
end
return out
"""


class ShipmentList:
    def __init__(self, redis: Redis, *, keep_days: int) -> None:
        self._redis = redis
        self._cluster = isinstance(redis, RedisCluster)
        self._read = redis.register_script(_READ_LUA)
        self._note = redis.register_script(_NOTE_LUA)
        self._keep_ms = keep_days * 86_400_000

    def oldest_ms(self, now_ms: int | None = None) -> int:
        """The registration time before which nothing is listed."""
        return (now_ms if now_ms is not None else int(time.time() * 1000)) - self._keep_ms

    async def apply(self, applied: Sequence[Applied]) -> None:
        """Lists the batch's shipments as they now stand: a script call to read where each is
        listed, a round trip to write the sets (a command a set, whatever the batch's size),
        a script call to note the listings (on a Redis Cluster, each call one a slot)."""
        found = touched(applied)
        if not found:
            return
        # TrackingStore.apply made a registration's account its shipment's owner; a shipment
        # listed already keeps the owner it was listed with (an owner is set once)
        owners = {
            a.event.shipment_id: a.event.registered.account_id
            for a in applied
            if a.event.WhichOneof("body") == "registered"
        }
        ids = list(found)
        read = await self._scripted(self._read, ids, lambda _: [])
        oldest = self.oldest_ms()
        added: dict[str, dict[str, int]] = {}
        removed: dict[str, list[str]] = {}
        noted: dict[str, str] = {}
        for sid, (raw_status, raw_listed) in zip(ids, read, strict=True):
            old = Listing.decode(raw_listed)
            new = listing_for(
                old=old,
                registered_ms=found[sid],
                owner=owners.get(sid, old.account if old else ""),
                status=text(raw_status) if raw_status else "",
            )
            if new is not None and new.registered_ms < oldest:
                new = None  # older than what the lists keep
            for move in moves(old, new):
                if move.add:
                    added.setdefault(move.key, {})[sid] = move.score
                else:
                    removed.setdefault(move.key, []).append(sid)
            if new != old:
                noted[sid] = new.encode() if new is not None else ""
        write = self._redis.pipeline(transaction=False)
        for key, members in removed.items():
            write.zrem(key, *members)
        for key, scored in added.items():
            write.zadd(key, scored)
            write.zremrangebyscore(key, "-inf", f"({oldest}")
        if len(write):
            await write.execute()
        # after the sets: a failure between the two leaves the old listings, and a
        # redelivery makes the same writes again (on a cluster, a pipeline's nodes fail apart)
        if noted:
            await self._scripted(self._note, list(noted), lambda sid: [noted[sid]])

    async def _scripted(
        self, script: AsyncScript, ids: list[str], args: Callable[[str], list[str]]
    ) -> list[Any]:
        """`script` on the shipments' states, its replies in their order: one call, or on
        a Redis Cluster one a slot, at once."""
        groups: dict[int, list[str]] = {}
        for sid in ids:
            slot = key_slot(state_key(sid).encode()) if self._cluster else 0
            groups.setdefault(slot, []).append(sid)
        calls = [
            (
                [state_key(sid) for sid in group],
                [a for sid in group for a in args(sid)],
            )
            for group in groups.values()
        ]
        # the script object loads the script again if Redis forgot it
        replies = await asyncio.gather(*(script(keys=k, args=a) for k, a in calls))
        by_id = {
            sid: reply
            for group, got in zip(groups.values(), replies, strict=True)
            for sid, reply in zip(group, got, strict=True)
        }
        return [by_id[sid] for sid in ids]

    async def page(
        self,
        *,
        account: str,
        status: str,
        first_ms: int,
        last_ms: int,
        after: Cursor | None,
        limit: int,
    ) -> tuple[list[tuple[str, int]], Cursor | None]:
        """Up to `limit` (shipment id, registered ms), newest first (those of one millisecond
        by id, descending), registered from `first_ms` to `last_ms` (both in) and after
        `after` in that order; and the cursor of the next page (None: this is the last). One
        round trip: the status's list, or without one each status's first `limit` + 1,
        merged (a shipment is in one status's list at a time)."""
        low = max(first_ms, self.oldest_ms())
        high = min(last_ms, after[0]) if after is not None else last_ms
        if high < low:
            return [], None
        keys = [shipments_key(account, s) for s in ([status] if status else STATUSES)]
        ties = after is not None and after[0] <= last_ms
        pipe = self._redis.pipeline(transaction=False)
        for key in keys:
            if ties:  # those of the millisecond of the last row shown, by id descending
                pipe.zrange(key, high, high, desc=True, byscore=True, offset=0, num=_TIES_READ)
            top = f"({high}" if ties else high
            pipe.zrange(
                key, top, low, desc=True, byscore=True, withscores=True, offset=0, num=limit + 1
            )
        replies = await pipe.execute()
        found: dict[str, int] = {}  # a shipment moving between two lists may be in both
        for n in range(len(keys)):
            if ties:
                assert after is not None
                same, rest = replies[2 * n], replies[2 * n + 1]
                found.update((text(m), high) for m in same if text(m) < after[1])
            else:
                rest = replies[n]
            found.update((text(m), int(score)) for m, score in rest)
        rows = sorted(found.items(), key=lambda row: (row[1], row[0]), reverse=True)
        if len(rows) > limit:
            shown = rows[:limit]
            return shown, shown[-1][::-1]
        return rows, None

    async def rows(self, found: Sequence[tuple[str, int]]) -> list[Listed]:
        """The shipments' tracking ids, statuses and owners now, in one round trip."""
        if not found:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for sid, _ in found:
            pipe.hmget(state_key(sid), "s", "o", "t", "l")
        replies = await pipe.execute()
        out = []
        for (sid, registered), (s, o, t, raw) in zip(found, replies, strict=True):
            listing = Listing.decode(raw)
            out.append(
                Listed(
                    shipment_id=sid,
                    registered_ms=registered,
                    tracking_id=text(t) if t else "",
                    status=Status(text(s)) if s else None,
                    status_at_ms=int(o) if o else 0,
                    account=listing.account if listing else "",
                )
            )
        return out

    async def listing(self, shipment_id: str) -> Listing | None:
        """Where one shipment is listed (None: nowhere)."""
        return Listing.decode(await self._redis.hget(state_key(shipment_id), "l"))


def _ms(t: Any) -> int:
    return int(t.seconds) * 1000 + int(t.nanos) // 1_000_000
