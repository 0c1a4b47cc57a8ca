"""What the notifier keeps of an endpoint's webhooks (keys in keys.py, all under the
endpoint's hash tag `{ep:<id>}`): its message store (the messages by when each was made, and
their jobs, for replays; trimmed to `log_days`), its delivery log (a stream, one entry per
try) and its health (since when it has been failing); and what it reads of the accounts: an
endpoint, a shipment's listeners, an account's team."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import RedisCluster

from shipnotify.store import accounts, keys
from shipnotify.store.round_trips import Commands, RoundTrips
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import notifications_pb2 as npb

LOG_ENTRIES = 10_000  # a delivery log keeps about this many tries (XADD MAXLEN ~)
_DAY_MS = 86_400_000


@dataclass(frozen=True)
class Try:
    """One try of a message, as the delivery log keeps it."""

    message_id: str
    notification_id: str
    attempt: int
    status: int  # the HTTP status; 0: no answer
    ms: int  # latency
    error: str  # a short reason; "" when it was sent
    at_ms: int


@dataclass(frozen=True)
class Listeners:
    """Who hears of an owned shipment's notices: its account, the account's endpoints, and
    the shipment's version now."""

    account_id: str
    endpoints: list[apb.Endpoint]
    version: int


@dataclass(frozen=True)
class Team:
    """An account's name and its contact team, as its account hash keeps them."""

    account_name: str
    members: list[apb.TeamMember]


class WebhookStore:
    def __init__(self, redis: Redis, *, log_days: int) -> None:
        self._redis = redis
        self._keep_ms = log_days * _DAY_MS
        # what many tries and notices ask in one turn of the loop: one round trip
        self._trips = None if isinstance(redis, RedisCluster) else RoundTrips(redis, [])

    async def _together(self, commands: Commands) -> list[Any]:
        if self._trips is not None:
            return await self._trips.run(commands)
        pipe = self._redis.pipeline(transaction=False)
        commands(pipe)
        return list(await pipe.execute())

    async def endpoint(self, account_id: str, endpoint_id: str) -> apb.Endpoint | None:
        (raw,) = await self._together(
            lambda pipe: pipe.hget(keys.account_endpoints_key(account_id), endpoint_id)
        )
        return accounts.endpoint_from(raw)

    async def team(self, account_id: str) -> Team:
        """The account's name and team (none set: an empty team)."""
        stored = await self._redis.hmget(keys.account_key(account_id), ["name", "team"])
        name, team = cast(list[bytes | None], stored)
        members = apb.TeamSet.FromString(team).members if team else []
        return Team(name.decode() if name else "", list(members))

    async def listeners(self, shipment_id: str) -> Listeners | None:
        """The shipment's account and its endpoints; None for the carrier's own shipment or
        an account without endpoints (one round trip then, two otherwise)."""

        def commands(pipe: Pipeline) -> None:  # the owner and the state share a slot
            pipe.get(keys.owner_key(shipment_id))
            pipe.hget(keys.state_key(shipment_id), "v")

        owner, version = await self._together(commands)
        if not owner:
            return None
        account_id = owner.decode()
        (found,) = await self._together(
            lambda pipe: pipe.hgetall(keys.account_endpoints_key(account_id))
        )
        endpoints = accounts.endpoints_from(found)
        if not endpoints:
            return None
        return Listeners(account_id, endpoints, int(version or 0))

    async def keep(
        self, jobs: Sequence[tuple[npb.NotificationJob, bytes]], now_ms: int
    ) -> list[bytes]:
        """Puts webhook jobs in their endpoints' message stores, and drops the messages past
        the log's days: two pipelined round trips. A message is kept as it first came: the
        job to send is returned, carrying the kept message (a redelivered event re-planned
        later may have made other bytes under the same webhook-id; every try sends the
        first's)."""
        if not jobs:
            return []
        pipe = self._redis.pipeline(transaction=False)
        endpoints = set()
        for job, raw in jobs:
            message, endpoint = job.webhook.message_id, job.webhook.endpoint_id
            endpoints.add(endpoint)
            created = job.webhook.created_at.ToMilliseconds()
            pipe.zadd(keys.endpoint_messages_key(endpoint), {message: created}, nx=True)
            pipe.hsetnx(keys.endpoint_bodies_key(endpoint), message, raw)
            pipe.hget(keys.endpoint_bodies_key(endpoint), message)
        for endpoint in sorted(endpoints):
            pipe.zrangebyscore(keys.endpoint_messages_key(endpoint), "-inf", now_ms - self._keep_ms)
        answers = await pipe.execute()
        old = answers[len(answers) - len(endpoints) :]
        trim = self._redis.pipeline(transaction=False)
        for endpoint, ids in zip(sorted(endpoints), old, strict=True):
            if ids:
                trim.zrem(keys.endpoint_messages_key(endpoint), *ids)
                trim.hdel(keys.endpoint_bodies_key(endpoint), *ids)
        if len(trim):
            await trim.execute()
        kept = answers[2 : 3 * len(jobs) : 3]
        return [_as_kept(job, raw, first) for (job, raw), first in zip(jobs, kept, strict=True)]

    async def tried(self, endpoint_id: str, entry: Try) -> int | None:
        """Logs a try and updates the endpoint's health; since when (ms) it has been
        failing without a success, None if this try succeeded."""
        fields: dict[Any, Any] = {
            "msg": entry.message_id,
            "n": entry.notification_id,
            "try": entry.attempt,
            "status": entry.status,
            "ms": entry.ms,
            "error": entry.error,
            "at": entry.at_ms,
        }
        health = keys.endpoint_health_key(endpoint_id)
        ok = 200 <= entry.status < 300

        def commands(pipe: Pipeline) -> None:
            log = keys.endpoint_log_key(endpoint_id)
            pipe.xadd(log, fields, maxlen=LOG_ENTRIES, approximate=True)
            if ok:
                pipe.hset(health, "last_ok", entry.at_ms)
                pipe.hdel(health, "failing_since")
            else:
                pipe.hsetnx(health, "failing_since", entry.at_ms)
                pipe.hget(health, "failing_since")

        answers = await self._together(commands)
        return None if ok else int(cast(bytes, answers[-1]))


def _as_kept(job: npb.NotificationJob, raw: bytes, first: bytes | None) -> bytes:
    """The job with the message as first kept (its own notification id: a replay's stays)."""
    if not first or first == raw:
        return raw
    message = npb.NotificationJob.FromString(first).webhook
    if message == job.webhook:
        return raw
    same = npb.NotificationJob()
    same.CopyFrom(job)
    same.webhook.CopyFrom(message)
    return same.SerializeToString()


# ---- the delivery log, as the account API and the console read it


def try_of(fields: dict[Any, Any]) -> Try:
    """A try as its log entry keeps it (bytes or str)."""
    f = {_text(k): _text(v) for k, v in fields.items()}
    return Try(
        message_id=f.get("msg", ""),
        notification_id=f.get("n", ""),
        attempt=int(f.get("try", "0") or 0),
        status=int(f.get("status", "0") or 0),
        ms=int(f.get("ms", "0") or 0),
        error=f.get("error", ""),
        at_ms=int(f.get("at", "0") or 0),
    )


async def tries(
    redis: Redis, endpoint_ids: Sequence[str], *, count: int, before: str = ""
) -> dict[str, list[tuple[str, Try]]]:
    """Each endpoint's latest `count` tries, newest first, with their log entries' ids
    (`before`: only those older than that id, the next page): one round trip."""
    pipe = redis.pipeline(transaction=False)  # an endpoint a hash tag: a node each
    for endpoint_id in endpoint_ids:
        newest = f"({before}" if before else "+"
        pipe.xrevrange(keys.endpoint_log_key(endpoint_id), newest, "-", count=count)
    found = await pipe.execute() if endpoint_ids else []
    return {
        endpoint_id: [(_text(entry_id), try_of(fields)) for entry_id, fields in entries]
        for endpoint_id, entries in zip(endpoint_ids, found, strict=True)
    }


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def event_types(redis: Redis, messages: dict[str, list[str]]) -> dict[str, str]:
    """The event type of each message (endpoint id -> message ids), from the jobs its
    endpoint's message store keeps ("" for one trimmed since): one round trip."""
    wanted = {e: sorted(set(ids)) for e, ids in messages.items() if ids}
    if not wanted:
        return {}
    pipe = redis.pipeline(transaction=False)
    for endpoint_id, ids in wanted.items():
        pipe.hmget(keys.endpoint_bodies_key(endpoint_id), ids)
    found: dict[str, str] = {}
    for ids, bodies in zip(wanted.values(), await pipe.execute(), strict=True):
        for message_id, raw in zip(ids, bodies, strict=True):
            found[message_id] = (
                npb.NotificationJob.FromString(raw).webhook.event_type if raw else ""
            )
    return found
