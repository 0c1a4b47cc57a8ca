"""Business customers' accounts in Redis: written by the tracker's accounts consumer (and
`shipnotify rebuild`) from the accounts topic, once per event id; read by ingest (a key's
account, the account API), the tracker (a shipment's owner's survey settings) and the
notifier (endpoints). Keys: store/keys.py, "accounts".

An account's keys share its hash tag and change together, by one script call an account
(`accounts_write.lua`), which writes only if nobody wrote the account since it was read;
what the events do is decided here in Python (`changes`). The keys outside the tag (a key's
`apikey:<sha256>`, the `accounts` list) follow with idempotent commands made from the
account as it then stands, so that a redelivered event repairs what a crash between the
two left undone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from shipnotify.store.keys import (
    ACCOUNTS,
    OWNER_TTL_S,
    account_applied_key,
    account_endpoints_key,
    account_key,
    account_keys_key,
    api_key_key,
    endpoint_bodies_key,
    endpoint_health_key,
    endpoint_messages_key,
    owner_key,
    state_key,
)
from shipnotify.store.replies import text
from shipnotify.store.tracking import each_alone
from shipnotify.v1 import accounts_pb2 as apb

_WRITE_LUA = files("shipnotify.store").joinpath("accounts_write.lua").read_text()
_VERSION = b"v"
_TRIES = 8  # an account has one writer but in a rebalance
# the script's key numbers
_ACCOUNT, _KEYS, _ENDPOINTS, _APPLIED = "1", "2", "3", "4"


class Contended(RedisError):
    """Another writer changed an account at every try: the batch is tried again later."""


@dataclass
class AccountState:
    """An account's records as read, and the writes that applying events calls for."""

    account_id: str
    version: str = ""
    applied: dict[str, str] = field(default_factory=dict)  # event id -> outcome
    keys: dict[str, apb.KeyAdded] = field(default_factory=dict)
    endpoints: dict[str, apb.Endpoint] = field(default_factory=dict)
    writes: list[tuple[str, str, str, bytes | str]] = field(default_factory=list)


@dataclass(frozen=True)
class AccountApplied:
    """What applying one event did: a duplicate was applied before (its effects inside the
    account's tag are there; those outside are made again)."""

    event: apb.AccountEvent
    duplicate: bool = False
    revoked_sha256: str = ""  # KeyRevoked: the hash of the key it revoked ("" unknown)


@dataclass(frozen=True)
class Account:
    account_id: str
    name: str
    created_at_ms: int
    keys: list[apb.KeyAdded]
    team: list[apb.TeamMember]
    survey: apb.SurveySettings | None
    endpoints: list[apb.Endpoint]


def changes(state: AccountState, event: apb.AccountEvent) -> AccountApplied:
    """Applies one event to the state as read: the writes it calls for go to
    `state.writes`, the state itself follows. Pure; once per event id."""
    if event.event_id in state.applied:
        return AccountApplied(event, duplicate=True, revoked_sha256=state.applied[event.event_id])
    body = event.WhichOneof("body")
    outcome = "a"
    write = state.writes.append
    if body == "created":
        ms = event.occurred_at.seconds * 1000 + event.occurred_at.nanos // 1_000_000
        write(("s", _ACCOUNT, "name", event.created.name))
        write(("s", _ACCOUNT, "created_at", str(ms)))
    elif body == "key_added":
        state.keys[event.key_added.key_id] = event.key_added
        write(("s", _KEYS, event.key_added.key_id, event.key_added.SerializeToString()))
    elif body == "key_revoked":
        gone = state.keys.pop(event.key_revoked.key_id, None)
        outcome = gone.sha256 if gone else ""  # so that a redelivery deletes its key again
        write(("d", _KEYS, event.key_revoked.key_id, ""))
    elif body == "team_set":
        write(("s", _ACCOUNT, "team", event.team_set.SerializeToString()))
    elif body == "survey_settings":
        write(("s", _ACCOUNT, "survey", event.survey_settings.SerializeToString()))
    elif body == "endpoint_set":
        endpoint = _set(state.endpoints, event.endpoint_set)
        if endpoint is not None:
            added = endpoint.endpoint_id not in state.endpoints
            _dated(endpoint, event, added=added)
            state.endpoints[endpoint.endpoint_id] = endpoint
            write(("s", _ENDPOINTS, endpoint.endpoint_id, endpoint.SerializeToString()))
    elif body == "endpoint_removed":
        state.endpoints.pop(event.endpoint_removed.endpoint_id, None)
        write(("d", _ENDPOINTS, event.endpoint_removed.endpoint_id, ""))
    elif body == "endpoint_disabled":
        disabled = event.endpoint_disabled
        found = state.endpoints.get(disabled.endpoint_id)
        if found is not None:  # removed meanwhile: nothing to disable
            found.disabled, found.disabled_reason = True, disabled.reason
            _dated(found, event, added=False)
            write(("s", _ENDPOINTS, disabled.endpoint_id, found.SerializeToString()))
    # webhooks_replayed changes no state: its jobs are the consumer's
    state.applied[event.event_id] = outcome
    write(("s", _APPLIED, event.event_id, outcome))
    return AccountApplied(event, revoked_sha256=outcome if body == "key_revoked" else "")


def _set(endpoints: dict[str, apb.Endpoint], change: apb.EndpointSet) -> apb.Endpoint | None:
    """The endpoint after an EndpointSet: added whole, or the change's fields onto it as it
    stands; None for a change to an endpoint removed meanwhile."""
    found = endpoints.get(change.endpoint.endpoint_id)
    if not change.fields.paths:
        whole = apb.Endpoint()
        whole.CopyFrom(change.endpoint)  # the event itself stays as it came
        whole.ClearField("created_at")
        if found is not None and found.HasField("created_at"):  # set whole again
            whole.created_at.CopyFrom(found.created_at)
        return whole
    if found is None:
        return None
    after = apb.Endpoint()
    after.CopyFrom(found)
    change.fields.MergeMessage(change.endpoint, after, replace_repeated_field=True)
    return after


def _dated(endpoint: apb.Endpoint, event: apb.AccountEvent, *, added: bool) -> None:
    """When the endpoint was added and last changed: the event's time, whatever a producer
    put in those fields."""
    if added:
        endpoint.created_at.CopyFrom(event.occurred_at)
    endpoint.changed_at.CopyFrom(event.occurred_at)


def enabled(event: apb.AccountEvent) -> bool:
    """Whether an event turns an endpoint (back) on: its failing streak starts again."""
    change = event.endpoint_set
    return "disabled" in change.fields.paths and not change.endpoint.disabled


class AccountStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._write = redis.register_script(_WRITE_LUA)

    async def apply(self, events: Sequence[apb.AccountEvent]) -> list[AccountApplied]:
        """Applies events in order, each once (by event id); idempotent."""
        done: list[AccountApplied | None] = [None] * len(events)
        of_account: dict[str, list[int]] = {}
        for i, event in enumerate(events):
            of_account.setdefault(event.account_id, []).append(i)
        pending = list(of_account)
        states: dict[str, AccountState] = {}
        for _ in range(_TRIES):
            read = await self._read(pending)
            for account_id, state in read.items():
                for i in of_account[account_id]:
                    done[i] = changes(state, events[i])
            lost = {s.account_id for s in read.values() if not await self._written(s)}
            states |= {a: s for a, s in read.items() if a not in lost}
            pending = [a for a in pending if a in lost]
            if not pending:
                applied = [d for d in done if d is not None]
                await self._beside(applied, states)
                return applied
        raise Contended(f"{len(pending)} accounts kept changing under us")

    async def apply_each(
        self, events: Sequence[apb.AccountEvent]
    ) -> list[AccountApplied | RedisError]:
        """apply(), an event at a time: for a batch Redis refused because of one of its
        events, the others' outcomes and that one's error."""
        return await each_alone(self.apply, events)

    async def _read(self, account_ids: Sequence[str]) -> dict[str, AccountState]:
        pipe = self._redis.pipeline(transaction=False)
        for account_id in account_ids:
            pipe.hgetall(account_applied_key(account_id))
            pipe.hgetall(account_keys_key(account_id))
            pipe.hgetall(account_endpoints_key(account_id))
        replies = await pipe.execute()
        states: dict[str, AccountState] = {}
        for i, account_id in enumerate(account_ids):
            applied, keys, endpoints = replies[3 * i : 3 * i + 3]
            state = AccountState(account_id, version=text(applied.pop(_VERSION, b"")))
            state.applied = {text(k): text(v) for k, v in applied.items()}
            state.keys = {text(k): apb.KeyAdded.FromString(v) for k, v in keys.items()}
            state.endpoints = {text(k): apb.Endpoint.FromString(v) for k, v in endpoints.items()}
            states[account_id] = state
        return states

    async def _written(self, state: AccountState) -> bool:
        if not state.writes:
            return True
        a = state.account_id
        keys = [account_key(a), account_keys_key(a), account_endpoints_key(a)]
        keys.append(account_applied_key(a))
        args: list[Any] = [state.version]
        for write in state.writes:
            args += write
        return bool(await self._write(keys=keys, args=args))

    async def _beside(
        self, applied: Sequence[AccountApplied], states: dict[str, AccountState]
    ) -> None:
        """The keys outside the accounts' tags, from the accounts as they now stand."""
        pipe = self._redis.pipeline(transaction=False)  # on a cluster: a node each
        for done in applied:
            event, body = done.event, done.event.WhichOneof("body")
            if body == "created":
                pipe.hset(ACCOUNTS, event.account_id, event.created.name)
            elif body == "key_added":
                key = states[event.account_id].keys.get(event.key_added.key_id)
                if key is not None:  # revoked since: never made valid again
                    pipe.set(api_key_key(key.sha256), f"{event.account_id} {key.key_id}")
            elif body == "key_revoked" and done.revoked_sha256:
                pipe.delete(api_key_key(done.revoked_sha256))
            elif body == "endpoint_set" and enabled(event):
                health = endpoint_health_key(event.endpoint_set.endpoint.endpoint_id)
                pipe.hdel(health, "failing_since")
        if len(pipe):
            await pipe.execute()


# ---- readers ----


async def key_account(redis: Redis, sha256: str) -> tuple[str, str] | None:
    """(account id, key id) of an account key, by the hex SHA-256 of the whole key."""
    found = await redis.get(api_key_key(sha256))
    if not found:
        return None
    account_id, _, key_id = text(found).partition(" ")
    return account_id, key_id


async def account(redis: Redis, account_id: str) -> Account | None:
    pipe = redis.pipeline(transaction=False)
    pipe.hgetall(account_key(account_id))
    pipe.hgetall(account_keys_key(account_id))
    pipe.hgetall(account_endpoints_key(account_id))
    record, keys, endpoints = await pipe.execute()
    if not record:
        return None
    fields = {text(k): v for k, v in record.items()}
    return Account(
        account_id,
        name=text(fields.get("name", b"")),
        created_at_ms=int(text(fields.get("created_at", b"0")) or 0),
        keys=sorted(map(apb.KeyAdded.FromString, keys.values()), key=lambda k: k.key_id),
        team=list(apb.TeamSet.FromString(fields.get("team", b"")).members),
        survey=apb.SurveySettings.FromString(fields["survey"]) if "survey" in fields else None,
        endpoints=_endpoints(endpoints.values()),
    )


async def applied(redis: Redis, account_id: str, event_id: str, key_sha256: str = "") -> bool:
    """Whether an account event has been applied (and, given a key's digest, the key opens
    the account)."""
    if not await redis.hexists(account_applied_key(account_id), event_id):
        return False
    return not key_sha256 or bool(await redis.exists(api_key_key(key_sha256)))


async def accounts(redis: Redis) -> dict[str, str]:
    """Every account: id -> name."""
    return {text(k): text(v) for k, v in (await redis.hgetall(ACCOUNTS)).items()}


async def team(redis: Redis, account_id: str) -> list[apb.TeamMember]:
    raw: Any = await redis.hget(account_key(account_id), "team")
    return list(apb.TeamSet.FromString(raw).members) if raw else []


async def survey_settings(redis: Redis, account_id: str) -> apb.SurveySettings | None:
    raw: Any = await redis.hget(account_key(account_id), "survey")
    return apb.SurveySettings.FromString(raw) if raw else None


async def endpoints(redis: Redis, account_id: str) -> list[apb.Endpoint]:
    """An account's webhook endpoints, by id."""
    return endpoints_from(await redis.hgetall(account_endpoints_key(account_id)))


def endpoints_from(stored: dict[Any, Any]) -> list[apb.Endpoint]:
    """The endpoints of an account's endpoints hash as read (HGETALL), by id."""
    return _endpoints(stored.values())


async def endpoint(redis: Redis, account_id: str, endpoint_id: str) -> apb.Endpoint | None:
    return endpoint_from(await redis.hget(account_endpoints_key(account_id), endpoint_id))


def endpoint_from(raw: Any) -> apb.Endpoint | None:
    """An endpoint as read from its account's endpoints hash (HGET); None if there is none."""
    return apb.Endpoint.FromString(raw) if raw else None


# KEYS[1] the shipment's owner key, KEYS[2] its state (one hash tag). ARGV[1] the account,
# ARGV[2] the owner key's time to live (s). A shipment the carrier already has (a state, no
# owner) stays the carrier's. Returns the owner after the call ("" the carrier).
_CLAIM_LUA = """
local owner = redis.call('GET', KEYS[1])
if owner then return owner end
if redis.call('EXISTS', KEYS[2]) == 1 then return '' end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return ARGV[1]
"""


async def claim(redis: Redis, shipment_id: str, account_id: str) -> str:
    """Makes a shipment the account's unless it is someone's already (another account's, or
    the carrier's: known, with no owner); returns its owner ("": the carrier's)."""
    keys = [owner_key(shipment_id), state_key(shipment_id)]
    found = await redis.register_script(_CLAIM_LUA)(keys=keys, args=[account_id, OWNER_TTL_S])
    return text(found)


async def owner(redis: Redis, shipment_id: str) -> str:
    """The account a shipment belongs to; "": the carrier's own."""
    found = await redis.get(owner_key(shipment_id))
    return text(found) if found else ""


def _endpoints(raw: Any) -> list[apb.Endpoint]:
    return sorted(map(apb.Endpoint.FromString, raw), key=lambda e: e.endpoint_id)


async def replayed_messages(redis: Redis, replay: apb.WebhooksReplayed) -> list[bytes]:
    """The jobs (NotificationJob bytes) of the messages a replay sends again, oldest first:
    the one it names, or every one the endpoint's message store holds since its time."""
    ep = replay.endpoint_id
    if replay.message_id:
        ids: list[Any] = [replay.message_id]
    else:
        since_ms = replay.since.seconds * 1000 + replay.since.nanos // 1_000_000
        ids = await redis.zrangebyscore(endpoint_messages_key(ep), since_ms, "+inf")
    if not ids:
        return []
    bodies: list[Any] = await redis.hmget(endpoint_bodies_key(ep), ids)
    return [raw for raw in bodies if raw]


async def owners(redis: Redis, shipment_ids: Sequence[str]) -> list[str]:
    """Many shipments' owners in one round trip ("" for the carrier's); a shipment named
    more than once (a batch's several events of it) is read once."""
    if not shipment_ids:
        return []
    ids = list(dict.fromkeys(shipment_ids))
    pipe = redis.pipeline(transaction=False)  # GETs: the keys span slots
    for shipment_id in ids:
        pipe.get(owner_key(shipment_id))
    found = {sid: text(v) if v else "" for sid, v in zip(ids, await pipe.execute(), strict=True)}
    return [found[sid] for sid in shipment_ids]


async def endpoints_of(redis: Redis, account_ids: Sequence[str]) -> dict[str, list[apb.Endpoint]]:
    """Many accounts' endpoints in one round trip."""
    if not account_ids:
        return {}
    pipe = redis.pipeline(transaction=False)
    for account_id in account_ids:
        pipe.hgetall(account_endpoints_key(account_id))
    found = await pipe.execute()
    return {a: _endpoints(e.values()) for a, e in zip(account_ids, found, strict=True)}
