"""The AccountStore on redis-server (and on a Redis Cluster, with
SHIPNOTIFY_TEST_REDIS_CLUSTER=1): each account event applied once, the keys outside the
account's hash tag written beside it, and the readers ingest, the tracker and the notifier
use."""

from __future__ import annotations

from google.protobuf.field_mask_pb2 import FieldMask
from redis.asyncio import Redis

from shipnotify.model import accounts as model
from shipnotify.store import accounts
from shipnotify.store.accounts import AccountStore
from shipnotify.store.keys import api_key_key, endpoint_health_key, owner_key
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import survey_pb2 as spb

from .conftest import unique


def _endpoint(endpoint_id: str, url: str = "https://hooks.example.com/in") -> apb.Endpoint:
    return apb.Endpoint(
        endpoint_id=endpoint_id,
        url=url,
        event_types=["notice.sent"],
        secrets=[apb.EndpointSecret(secret=model.new_secret())],
    )


async def test_an_account_applied_and_read_back(redis: Redis) -> None:
    store = AccountStore(redis)
    a = model.new_account_id()
    key_id, key = model.new_key()
    sha = model.key_sha256(key)
    member = apb.TeamMember(name="Dana", role="logistics", email="dana@example.com")
    events = [
        model.event(a, created=apb.AccountCreated(name="Acme")),
        model.event(a, key_added=apb.KeyAdded(key_id=key_id, sha256=sha, label="erp")),
        model.event(a, team_set=apb.TeamSet(members=[member])),
        model.event(a, survey_settings=apb.SurveySettings(off=True, scale=spb.SCALE_NPS)),
        model.event(a, endpoint_set=apb.EndpointSet(endpoint=_endpoint("ep_1"))),
        model.event(a, endpoint_set=apb.EndpointSet(endpoint=_endpoint("ep_2"))),
        model.event(a, endpoint_disabled=apb.EndpointDisabled(endpoint_id="ep_2", reason="410")),
    ]
    applied = await store.apply(events)
    assert [d.duplicate for d in applied] == [False] * len(events)

    assert await accounts.key_account(redis, sha) == (a, key_id)
    assert (await accounts.accounts(redis))[a] == "Acme"
    found = await accounts.account(redis, a)
    assert found is not None
    assert found.name == "Acme"
    assert found.created_at_ms > 0
    assert [k.label for k in found.keys] == ["erp"]
    assert found.team == [member] == await accounts.team(redis, a)
    assert found.survey == apb.SurveySettings(off=True, scale=spb.SCALE_NPS)
    assert await accounts.survey_settings(redis, a) == found.survey
    listed = await accounts.endpoints(redis, a)
    assert [e.endpoint_id for e in listed] == ["ep_1", "ep_2"]
    assert [e.disabled for e in listed] == [False, True]
    disabled = await accounts.endpoint(redis, a, "ep_2")
    assert disabled is not None
    assert disabled.disabled_reason == "410"
    assert await accounts.endpoint(redis, a, "ep_3") is None
    assert await accounts.account(redis, model.new_account_id()) is None


async def test_each_event_once_and_a_revoked_key_stays_revoked(redis: Redis) -> None:
    store = AccountStore(redis)
    a = model.new_account_id()
    key_id, key = model.new_key()
    sha = model.key_sha256(key)
    created = model.event(a, created=apb.AccountCreated(name="Acme"))
    added = model.event(a, key_added=apb.KeyAdded(key_id=key_id, sha256=sha))
    await store.apply([created, added])
    assert await redis.exists(api_key_key(sha))

    revoked = model.event(a, key_revoked=apb.KeyRevoked(key_id=key_id))
    done = await store.apply([revoked])
    assert done[0].revoked_sha256 == sha
    assert await accounts.key_account(redis, sha) is None
    # redelivered: the key added before is not made valid again; the revocation deletes
    # the key again (as after a crash between the account's write and the key's)
    await redis.set(api_key_key(sha), f"{a} {key_id}")
    again = await store.apply([added, revoked])
    assert [d.duplicate for d in again] == [True, True]
    assert await accounts.key_account(redis, sha) is None
    found = await accounts.account(redis, a)
    assert found is not None
    assert found.keys == []


async def test_a_removed_endpoint_and_its_late_disabling(redis: Redis) -> None:
    store = AccountStore(redis)
    a = model.new_account_id()
    await store.apply(
        [
            model.event(a, created=apb.AccountCreated(name="Acme")),
            model.event(a, endpoint_set=apb.EndpointSet(endpoint=_endpoint("ep_1"))),
            model.event(a, endpoint_removed=apb.EndpointRemoved(endpoint_id="ep_1")),
            model.event(a, endpoint_disabled=apb.EndpointDisabled(endpoint_id="ep_1")),
        ]
    )
    assert await accounts.endpoints(redis, a) == []


async def test_two_accounts_in_one_batch(redis: Redis) -> None:
    store = AccountStore(redis)
    ids = [model.new_account_id() for _ in range(5)]
    await store.apply([model.event(a, created=apb.AccountCreated(name=a)) for a in ids])
    listed = await accounts.accounts(redis)
    assert all(listed[a] == a for a in ids)


async def test_an_owner(redis: Redis) -> None:
    sid = unique("owned")
    assert await accounts.owner(redis, sid) == ""
    await redis.set(owner_key(sid), "acct_x")
    assert await accounts.owner(redis, sid) == "acct_x"


async def test_an_endpoint_turned_back_on_starts_its_failing_streak_again(redis: Redis) -> None:
    """Else its next failure would find the old streak over the limit, and the notifier's
    EndpointDisabled (its id made from the streak's start) would be the old one's duplicate."""
    store = AccountStore(redis)
    account_id, endpoint_id = unique("acct"), unique("ep")
    health = endpoint_health_key(endpoint_id)
    whole = apb.EndpointSet(endpoint=_endpoint(endpoint_id))
    await store.apply([model.event(account_id, endpoint_set=whole)])
    await redis.hset(health, mapping={"failing_since": 1, "last_ok": 0})
    off = apb.EndpointDisabled(endpoint_id=endpoint_id, reason="failing for 5 days in a row")
    await store.apply([model.event(account_id, endpoint_disabled=off)])
    renamed = apb.EndpointSet(
        endpoint=apb.Endpoint(endpoint_id=endpoint_id, description="renamed"),
        fields=FieldMask(paths=["description"]),
    )
    await store.apply([model.event(account_id, endpoint_set=renamed)])
    assert await redis.hget(health, "failing_since") == b"1"  # still off: the streak stands
    on = apb.EndpointSet(
        endpoint=apb.Endpoint(endpoint_id=endpoint_id, disabled=False),
        fields=FieldMask(paths=["disabled", "disabled_reason"]),
    )
    await store.apply([model.event(account_id, endpoint_set=on)])
    assert await redis.hget(health, "failing_since") is None
    assert await redis.hget(health, "last_ok") == b"0"
    found = await accounts.endpoint(redis, account_id, endpoint_id)
    assert found is not None
    assert not found.disabled
    assert found.description == "renamed"
