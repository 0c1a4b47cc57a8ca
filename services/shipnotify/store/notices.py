"""Notice states in Redis: the at-most-once claim, outcomes and delivery receipts, the
due set that drives retries and deferrals, and SMS opt-outs.

A notice's state lives beside its shipment's, one hash field per notification id: a JSON
document in the shipment's `sending` hash while it is in flight (sending, retrying,
deferred), then, once final (sent and after), a compact record in its `notices` hash
(keys.py spells both; notice_codec.lua the record), all of whose values fit a listpack: a
delivered shipment's notices take a few hundred bytes, and go with the shipment. No phone
number or email is stored in either.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from dataclasses import dataclass
from importlib.resources import files
from typing import Any
from urllib.parse import quote, unquote

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript

from shipnotify.model import base36
from shipnotify.store import intact
from shipnotify.store.digests import address_digest
from shipnotify.store.keys import (
    due_key,
    notices_key,
    opt_out_key,
    quiet_key,
    sending_key,
    state_key,
)
from shipnotify.store.replies import text as _text
from shipnotify.store.round_trips import Commands, RoundTrips
from shipnotify.v1 import shipment_events_pb2 as pb

CANCELLED = -2  # a claim's attempt when the notice must not go


@dataclass(frozen=True)
class Claim:
    # 0: done already; -1: another sender holds it until `until_ms`; -2: it must not go
    # (its shipment's contacts were erased after it was planned)
    attempt: int
    # Set when the previous attempt's sender died mid-send: since when the provider may
    # already have the message.
    in_doubt_since_ms: int | None = None
    until_ms: int = 0
    at_ms: int = 0  # when it was claimed
    # The provider's id of the message, when an earlier attempt's provider took it and its
    # sender died before the notice was final: it went, and is not sent again.
    went: str = ""


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
    "cancelled": 3,
    "gone": 3,
    "throttled": 3,  # a survey to a person asked lately: never sent
    "dead": 3,
    "removed": 3,  # a webhook whose endpoint was removed: never sent
    "disabled": 3,  # a webhook whose endpoint is disabled: never sent (a replay may)
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


# Every state and receipt has a one-letter code, for the compact records of final notices.
CODES = {
    "sending": "g",
    "retrying": "y",
    "deferred": "w",
    "redriven": "v",
    "sent": "s",
    "queued": "q",
    "delivered": "d",
    "undelivered": "u",
    "failed": "f",
    "rejected": "j",
    "opted_out": "o",
    "superseded": "p",
    "cancelled": "c",
    "gone": "n",
    "throttled": "h",
    "dead": "x",
    "removed": "e",
    "disabled": "b",
}
_NAMES = {code: name for name, code in CODES.items()}
_CHANNELS = {"sms": "s", "email": "e", "push": "p", "webhook": "k", "?": "?"}
_PARTIES = {"sender": "s", "recipient": "r", "?": "?"}
# The survey loop's kinds and the team's endpoint notice (a status notice's goes unsaid)
_KINDS = {
    "survey": "s",
    "follow_up": "f",
    "apology": "a",
    "case_alert": "c",
    "endpoint_disabled": "d",
    "?": "?",
}


def _script(name: str) -> str:
    return files("shipnotify.store").joinpath(name).read_text()


def now_ms() -> int:
    return int(time.time() * 1000)


class NoticeBook:
    def __init__(self, redis: Redis, jobs_topic: str, *, opt_out_secret: str = "") -> None:
        self._redis = redis
        self._opt_out_secret = opt_out_secret.encode()
        self._cluster = isinstance(redis, RedisCluster)
        self._due = due_key(jobs_topic)
        self._claim = redis.register_script(_script("notice_claim.lua"))
        self._update = redis.register_script(
            _script("notice_codec.lua") + _script("notice_update.lua")
        )
        self._take = redis.register_script(_script("due_take.lua"))
        self._quiet = redis.register_script(_script("quiet_latest.lua"))
        # the notices' claims, states and gates of one turn of the loop: one round trip
        scripts = [self._claim, self._update, self._quiet]
        self._trips = None if self._cluster else RoundTrips(redis, scripts)

    async def _together(self, commands: Commands) -> list[Any]:
        """`commands`' answers, in a round trip shared with other notices' (a cluster
        client: a pipeline of their own)."""
        if self._trips is not None:
            return await self._trips.run(commands)
        pipe = self._redis.pipeline(transaction=False)
        commands(pipe)
        return list(await pipe.execute())

    async def _call(self, script: AsyncScript, keys: list[str], args: list[str | int]) -> Any:
        if self._trips is None:  # a cluster client pipelines no scripts
            return await script(keys=keys, args=args)
        (answer,) = await self._trips.run(
            lambda pipe: pipe.evalsha(script.sha, len(keys), *keys, *args)
        )
        return answer

    async def claim(
        self, shipment_id: str, nid: str, meta: dict[str, Any], lease_s: float, *, planned_ms: int
    ) -> Claim:
        """Claims a notice planned at `planned_ms` for sending (see Claim)."""
        now = now_ms()
        initial = json.dumps(_compact(nid, meta))
        args: list[str | int] = [nid, now, now + int(lease_s * 1000), initial, planned_ms]
        keys = [*_keys(shipment_id), state_key(shipment_id)]
        reply = await self._call(self._claim, keys, args)
        attempt, at = int(reply[0]), int(reply[1])
        if attempt < 0:
            return Claim(attempt, until_ms=at, at_ms=now)
        went = _text(reply[2]) if len(reply) > 2 else ""
        return Claim(attempt, in_doubt_since_ms=at or None, at_ms=now, went=went)

    async def went(self, shipment_id: str, nid: str, provider_id: str) -> None:
        """Notes, while the notice is still being sent, that its provider took it: a sender
        that dies before the notice is final leaves it gone, not in doubt (an email cannot
        be looked up at the provider). Sent at once, not with the next turn's round trip:
        until it is in Redis, a sender killed would send the email again."""
        keys, args = self._update_args(shipment_id, nid, "sending", {"w": provider_id}, False)
        await self._update(keys=keys, args=args)

    async def update(
        self,
        shipment_id: str,
        nid: str,
        state: str,
        fields: dict[str, Any] | None = None,
        *,
        force: bool = False,
    ) -> str:
        keys, args = self._update_args(shipment_id, nid, state, fields, force)
        state_now = _text(await self._call(self._update, keys, args))
        return _NAMES.get(state_now, state_now)

    async def finish(
        self, shipment_id: str, nid: str, state: str, fields: dict[str, Any], job: bytes
    ) -> None:
        """Records a notice's final state and takes its job off the due set, in one round
        trip (shared with other notices'): the state first, so a job left due finds it
        final. A cluster client pipelines no scripts: there, two."""
        if self._trips is None:
            await self.update(shipment_id, nid, state, fields)
            await self.done(job)
            return
        keys, args = self._update_args(shipment_id, nid, state, fields, False)

        def commands(pipe: Pipeline) -> None:
            pipe.evalsha(self._update.sha, len(keys), *keys, *args)
            pipe.zrem(self._due, job)

        await self._trips.run(commands)

    def _update_args(
        self, shipment_id: str, nid: str, state: str, fields: dict[str, Any] | None, force: bool
    ) -> tuple[list[str], list[str | int]]:
        patch = json.dumps(_compact(nid, {"s": state, "t": now_ms(), **(fields or {})}))
        args: list[str | int] = [nid, patch, RANKS[state], "1" if force else "0", CODES[state]]
        return [*_keys(shipment_id), state_key(shipment_id)], args

    async def receipt(
        self, shipment_id: str, nid: str, provider_status: str, error_code: str | None
    ) -> str | None:
        state = RECEIPTS.get(provider_status)
        if state is None:
            return None
        extra = {"r": provider_status} | ({"e": f"receipt {error_code}"} if error_code else {})
        return await self.update(shipment_id, nid, state, extra)

    async def state_of(self, shipment_id: str, nid: str) -> str | None:
        """A notice's state (final or in flight), or None for one never recorded."""
        state: str | None = (await self.of_shipment(shipment_id)).get(nid, {}).get("s")
        return state

    async def of_shipment(self, shipment_id: str) -> dict[str, dict[str, Any]]:
        """Every notice of the shipment, in flight or final, with its fields spelt out."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.hgetall(sending_key(shipment_id))
        pipe.hgetall(notices_key(shipment_id))
        sending, final = await pipe.execute()
        stored = {_text(k): _text(v) for k, v in (sending | final).items()}
        domain = stored.pop("@", "")  # of the emails' Message-IDs (notice_update.lua)
        return {nid: _readable(nid, raw, domain) for nid, raw in stored.items()}

    async def some(self, notices: list[tuple[str, str]]) -> list[dict[str, Any] | None]:
        """Notices of many shipments, (shipment id, notification id) each, with their fields
        spelt out as of_shipment spells them (None: not found), in one round trip."""
        if not notices:
            return []
        pipe = self._redis.pipeline(transaction=False)  # the keys span slots
        for shipment_id, nid in notices:
            pipe.hget(sending_key(shipment_id), nid)
            pipe.hmget(notices_key(shipment_id), [nid, "@"])
        found = await pipe.execute()
        out: list[dict[str, Any] | None] = []
        for i, (_, nid) in enumerate(notices):
            sending, (final, domain) = found[2 * i], found[2 * i + 1]
            raw = final or sending
            out.append(None if raw is None else _readable(nid, _text(raw), _text(domain or b"")))
        return out

    # the due set: retries, deferrals, and every notice while it is being sent
    async def schedule(self, jobs: list[bytes], at_ms: int) -> None:
        if jobs:
            await self._together(lambda pipe: pipe.zadd(self._due, dict.fromkeys(jobs, at_ms)))

    async def take_due(self, lease_s: float, limit: int) -> list[bytes]:
        now = now_ms()
        items = await self._take(keys=[self._due], args=[now, now + int(lease_s * 1000), limit])
        return [bytes(i) for i in items]

    async def done(self, job: bytes) -> None:
        await self._together(lambda pipe: pipe.zrem(self._due, job))

    async def intact(self) -> bool:
        return await intact.intact(self._redis)

    async def pending(self) -> int:
        return int(await self._redis.zcard(self._due))

    async def defer(self, shipment_id: str, address: str, occurred_ms: int, nid: str) -> None:
        """Remembers a notice held back by quiet hours, if it is the contact's latest."""
        await self._call(self._quiet, [quiet_key(shipment_id)], [address, occurred_ms, nid])

    async def sms_gate(
        self, shipment_id: str, phone: str, occurred_ms: int, planned_ms: int
    ) -> SmsGate:
        """In one round trip: whether the number opted out, whether a later status for it is
        waiting for the morning, and whether the contacts were erased after planning. A push
        is asked the same of its endpoint (which no opt-out names)."""

        def commands(pipe: Pipeline) -> None:
            pipe.exists(self._opt_out_key(phone))
            pipe.hget(quiet_key(shipment_id), phone)
            pipe.hget(state_key(shipment_id), "x")

        opted_out, latest, erased = await self._together(commands)
        later = latest is not None and int(_text(latest).split(":", 1)[0]) > occurred_ms
        erased_ms = int(_text(erased).split(",", 1)[0]) if erased else 0
        return SmsGate(bool(opted_out), later, 0 < erased_ms >= planned_ms)

    async def erased_at(self, shipment_id: str) -> int:
        """When the shipment's contacts were last erased (ms), 0 if never."""
        erased = await self._redis.hget(state_key(shipment_id), "x")
        return int(_text(erased).split(",", 1)[0]) if erased else 0

    # SMS opt-out (STOP / START, or error 21610), by a keyed hash of the number
    async def opt_out(self, phone: str) -> None:
        await self._redis.set(self._opt_out_key(phone), "1")

    async def opt_in(self, phone: str) -> None:
        await self._redis.delete(self._opt_out_key(phone))

    async def opted_out(self, phone: str) -> bool:
        return bool(await self._redis.exists(self._opt_out_key(phone)))

    async def hash_stored_opt_outs(self) -> int:
        """Replaces opt-outs stored by their raw number (as before) with their keyed hash;
        returns how many. Idempotent: run at every notifier start."""
        moved = 0
        async for raw in self._redis.scan_iter(match=opt_out_key("+*"), count=1000):
            phone = _text(raw).removeprefix(opt_out_key(""))
            await self._redis.set(self._opt_out_key(phone), "1")
            await self._redis.delete(raw)
            moved += 1
        return moved

    def _opt_out_key(self, phone: str) -> str:
        return opt_out_key(address_digest(self._opt_out_secret, phone))


@dataclass(frozen=True)
class SmsGate:
    opted_out: bool
    later_deferred: bool  # a later status for this number waits for the morning: only it goes
    erased: bool  # the shipment's contacts were erased after the notice was planned


def _keys(shipment_id: str) -> list[str]:
    return [notices_key(shipment_id), sending_key(shipment_id)]


# -- the compact values --------------------------------------------------------------------
# Stored: m (channel, party and status, a letter each) for c, p and st; v (the event id) for
# ev; kd (a letter) for a survey-loop notice's kind; i (the provider id) for id; codes for s
# (once final) and r. UUIDs take 22 characters (base64url), a Twilio message SID 23, an
# email's Message-ID "@" (its domain is kept once per shipment); anything else is quoted
# after a "~", so that no value but an error holds the records' separator "|".
_SID = re.compile(r"SM[0-9a-f]{32}")
_HEAD = (("k", 1), ("s", 1), ("r", 1), ("m", 3), ("t", 8))  # as in notice_codec.lua
_TAIL = ("v", "n", "i", "d", "code", "e")


def _compact(nid: str, fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    if "c" in out:  # the notice's meta: channel, party, status and event, always together
        status = pb.Status.Value("STATUS_" + str(out.pop("st")).upper())
        out["m"] = _CHANNELS[out.pop("c")] + _PARTIES[out.pop("p")] + base36.encode(status)
        out["v"] = _short_uuid(out.pop("ev"))
    if "kind" in out:
        out["kd"] = _KINDS[out.pop("kind")]
    if "id" in out:
        pid = str(out.pop("id"))
        domain = pid.removeprefix(f"<{nid}@").removesuffix(">")
        if _SID.fullmatch(pid):
            out["i"] = "=" + _b64(bytes.fromhex(pid[2:]))
        elif pid == f"<{nid}@{domain}>" and "|" not in domain:
            out["i"] = "@" + domain
        else:
            out["i"] = "~" + quote(pid, safe="")
    if "r" in out:
        out["r"] = CODES[out["r"]]
    return out


def _readable(nid: str, raw: str, domain: str) -> dict[str, Any]:
    """A stored notice with its fields as the operator endpoint shows them."""
    doc = json.loads(raw) if raw.startswith("{") else _record(raw)
    for key in ("s", "r"):
        if key in doc:
            doc[key] = _NAMES.get(doc[key], doc[key])
    if m := doc.pop("m", None):
        channels, parties = ({v: k for k, v in d.items()} for d in (_CHANNELS, _PARTIES))
        status = pb.Status.Name(base36.decode(m[2])).removeprefix("STATUS_").lower()
        doc |= {"c": channels[m[0]], "p": parties[m[1]], "st": status}
    if kd := doc.pop("kd", None):
        doc["kind"] = {v: k for k, v in _KINDS.items()}[kd]
    if (v := doc.pop("v", None)) is not None:
        doc["ev"] = unquote(v[1:]) if v.startswith("~") else str(uuid.UUID(bytes=_unb64(v)))
    if (i := doc.pop("i", None)) is not None:
        if i.startswith("="):
            doc["id"] = "SM" + _unb64(i[1:]).hex()
        elif i.startswith("@"):
            doc["id"] = f"<{nid}@{i[1:] or domain}>"
        else:
            doc["id"] = unquote(i[1:])
    return doc


def _record(raw: str) -> dict[str, Any]:
    """The fields of a final notice's compact record (notice_codec.lua)."""
    doc: dict[str, Any] = {}
    at = 0
    for key, width in _HEAD:
        if value := raw[at : at + width].strip("."):
            doc[key] = value
        at += width
    if raw[at : at + 1] == "+":  # a survey-loop notice's kind
        doc["kd"], at = raw[at + 1 : at + 2], at + 2
    for key, value in zip(_TAIL, raw[at:].split("|", len(_TAIL) - 1), strict=False):
        if value:
            doc[key] = value
    doc["k"], doc["t"] = int(doc["k"]), base36.decode(doc["t"])
    for key in ("n", "d"):
        if key in doc:
            doc[key] = int(doc[key])
    return doc


def _short_uuid(value: str) -> str:
    try:
        if str(uuid.UUID(value)) == value:
            return _b64(uuid.UUID(value).bytes)
    except ValueError:
        pass
    return "~" + quote(value, safe="")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
