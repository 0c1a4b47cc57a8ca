"""Notice states in Redis: the at-most-once claim, outcomes and delivery receipts, the
due set that drives retries and deferrals, and SMS opt-outs.

A notice's state lives beside its shipment's (`{shp:<id>}:notices`, one hash field per
notification id) so that the operator endpoint reads one key. No phone number or email is
stored there.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from redis.asyncio import Redis

from shipnotify.store import intact
from shipnotify.store.tracking import text as _text


@dataclass(frozen=True)
class Claim:
    attempt: int  # 0: done already; -1: another sender holds it until `until_ms`
    # Set when the previous attempt's sender died mid-send: since when the provider may
    # already have the message.
    in_doubt_since_ms: int | None = None
    until_ms: int = 0
    at_ms: int = 0  # when it was claimed


def due_key(jobs_topic: str) -> str:
    """The due set of one jobs topic (so that stacks sharing a Redis stay apart)."""
    return "notifier:due:" + jobs_topic


# state -> rank; from rank 2 on a notice is never sent again
RANKS = {
    "sending": 1,
    "retrying": 1,
    "deferred": 1,
    "redriven": 0,
    "sent": 2,
    "queued": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "rejected": 3,
    "opted_out": 3,
    "superseded": 3,
    "dead": 3,
}
# Twilio's message statuses, as delivery receipts
RECEIPTS = {
    "queued": "queued",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
}


def _script(name: str) -> str:
    return files("shipnotify.store").joinpath(name).read_text()


def notices_key(shipment_id: str) -> str:
    return "{shp:" + shipment_id + "}:notices"


def _quiet_key(shipment_id: str) -> str:
    return "{shp:" + shipment_id + "}:quiet"


def _opt_out_key(phone: str) -> str:
    return "optout:sms:" + phone


def now_ms() -> int:
    return int(time.time() * 1000)


class NoticeBook:
    def __init__(self, redis: Redis, jobs_topic: str) -> None:
        self._redis = redis
        self._due = due_key(jobs_topic)
        self._claim = redis.register_script(_script("notice_claim.lua"))
        self._update = redis.register_script(_script("notice_update.lua"))
        self._take = redis.register_script(_script("due_take.lua"))
        self._quiet = redis.register_script(_script("quiet_latest.lua"))

    async def claim(
        self, shipment_id: str, nid: str, meta: dict[str, Any], lease_s: float
    ) -> Claim:
        now = now_ms()
        args: list[str | int] = [nid, now, now + int(lease_s * 1000), json.dumps(meta)]
        attempt, at = (
            int(x) for x in await self._claim(keys=[notices_key(shipment_id)], args=args)
        )
        if attempt < 0:
            return Claim(attempt, until_ms=at, at_ms=now)
        return Claim(attempt, in_doubt_since_ms=at or None, at_ms=now)

    async def update(
        self,
        shipment_id: str,
        nid: str,
        state: str,
        fields: dict[str, Any] | None = None,
        *,
        force: bool = False,
    ) -> str:
        patch = {"s": state, "t": now_ms(), **(fields or {})}
        args: list[str | int] = [nid, json.dumps(patch), RANKS[state], "1" if force else "0"]
        return _text(await self._update(keys=[notices_key(shipment_id)], args=args))

    async def receipt(
        self, shipment_id: str, nid: str, provider_status: str, error_code: str | None
    ) -> str | None:
        state = RECEIPTS.get(provider_status)
        if state is None:
            return None
        extra = {"r": provider_status} | ({"e": f"receipt {error_code}"} if error_code else {})
        return await self.update(shipment_id, nid, state, extra)

    async def of_shipment(self, shipment_id: str) -> dict[str, dict[str, Any]]:
        raw = await self._redis.hgetall(notices_key(shipment_id))
        return {_text(k): json.loads(v) for k, v in raw.items()}

    # the due set: retries, deferrals, and every notice while it is being sent
    async def schedule(self, jobs: list[bytes], at_ms: int) -> None:
        if jobs:
            await self._redis.zadd(self._due, dict.fromkeys(jobs, at_ms))

    async def take_due(self, lease_s: float, limit: int) -> list[bytes]:
        now = now_ms()
        items = await self._take(keys=[self._due], args=[now, now + int(lease_s * 1000), limit])
        return [bytes(i) for i in items]

    async def done(self, job: bytes) -> None:
        await self._redis.zrem(self._due, job)

    async def intact(self) -> bool:
        return await intact.intact(self._redis)

    async def pending(self) -> int:
        return int(await self._redis.zcard(self._due))

    async def defer(self, shipment_id: str, address: str, occurred_ms: int, nid: str) -> None:
        """Remembers a notice held back by quiet hours, if it is the contact's latest."""
        await self._quiet(keys=[_quiet_key(shipment_id)], args=[address, occurred_ms, nid])

    async def later_deferred(self, shipment_id: str, address: str, occurred_ms: int) -> bool:
        """Whether a later status for this contact is waiting for the morning."""
        latest = await self._redis.hget(_quiet_key(shipment_id), address)
        return latest is not None and int(_text(latest).split(":", 1)[0]) > occurred_ms

    # SMS opt-out (STOP / START, or error 21610)
    async def opt_out(self, phone: str) -> None:
        await self._redis.set(_opt_out_key(phone), "1")

    async def opt_in(self, phone: str) -> None:
        await self._redis.delete(_opt_out_key(phone))

    async def opted_out(self, phone: str) -> bool:
        return bool(await self._redis.exists(_opt_out_key(phone)))
