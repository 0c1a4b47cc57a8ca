"""Ingest's check of the event ids clients make: a retry of the same event is accepted
again, an id already another event's of the shipment is refused (409), before anything is
appended. The tracker's script checks the same when it applies an event (a dead letter
then), for what ingest could not see (its Redis unreachable)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError

from shipnotify.model.codec import entry_for, entry_head
from shipnotify.store.keys import parties_key, pending_key, state_key, timeline_key
from shipnotify.store.replies import text
from shipnotify.store.tracking import script
from shipnotify.v1 import shipment_events_pb2 as pb

# An event waits this long at most to be applied; past it only the tracker tells.
PENDING_TTL_S = 7 * 86400


class EventId(StrEnum):
    NEW = "new"
    SAME = "same"  # a retry of the same event: safe to append again
    CONFLICT = "conflict"  # already another event's of this shipment


class EventIds:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._check = redis.register_script(script("event_check.lua"))
        self._cluster = isinstance(redis, RedisCluster)

    async def check(self, events: Sequence[pb.ShipmentEvent]) -> list[EventId]:
        """One answer per event, in order; events of one request are checked in order, so
        two of them with one id and different bodies conflict too."""
        calls = [_call(e) for e in events]
        try:
            replies = await self._run(calls)
        except NoScriptError:  # a restarted Redis forgot the script: none ran, so again
            await self._redis.script_load(self._check.script)
            replies = await self._run(calls)
        return [EventId(text(r)) for r in replies]

    async def _run(self, calls: list[tuple[list[str], list[Any]]]) -> list[Any]:
        # EVALSHA straight: a pipelined script object adds a SCRIPT EXISTS round trip
        if self._cluster:  # a cluster client pipelines no scripts
            return [await self._redis.evalsha(self._check.sha, len(k), *k, *a) for k, a in calls]
        pipe = self._redis.pipeline(transaction=False)
        for keys, args in calls:
            pipe.evalsha(self._check.sha, len(keys), *keys, *args)
        return list(await pipe.execute())


def _call(event: pb.ShipmentEvent) -> tuple[list[str], list[Any]]:
    sid = event.shipment_id
    if event.WhichOneof("body") == "registered":
        registered = event.registered.SerializeToString()
        digest = base64.b64encode(hashlib.sha256(registered).digest()[:16]).decode()
        args: list[Any] = [event.event_id, "r", digest, registered, PENDING_TTL_S]
    else:
        args = [event.event_id, "s", entry_head(entry_for(event)), "", PENDING_TTL_S]
    return [state_key(sid), timeline_key(sid), parties_key(sid), pending_key(sid)], args
