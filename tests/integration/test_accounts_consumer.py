"""The tracker's accounts consumer on Apache Kafka and redis-server: account events applied
once, unreadable records in the dead letters with their reason, a replay's jobs (the same
messages under new notification ids, once however often the replay comes), a shipment's
owner from its registration, and `shipnotify rebuild` restoring accounts and owners without
sending a replay again."""

from __future__ import annotations

import time
import uuid

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from shipnotify.config import Settings
from shipnotify.model import accounts as model
from shipnotify.model.status import Status
from shipnotify.store import accounts
from shipnotify.store.keys import endpoint_bodies_key, endpoint_messages_key
from shipnotify.tracker.rebuild import rebuild
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import survey_pb2 as spb
from tests.offsets import consumed, read_all

from .conftest import eventually, running_tracker, unique
from .test_dead_letters import produce, registration_event, status_event


async def _produce(settings: Settings, events: list[apb.AccountEvent]) -> None:
    await produce(
        settings,
        settings.accounts_topic,
        [(e.account_id.encode(), e.SerializeToString()) for e in events],
    )


async def _consumed(settings: Settings) -> bool:
    return await consumed(settings, settings.accounts_group, settings.accounts_topic)


def _webhook_job(sid: str, endpoint_id: str, n: int) -> npb.NotificationJob:
    """A webhook job as the notifier keeps it in an endpoint's message store."""
    message_id = f"msg_{uuid.uuid4().hex}"
    job = npb.NotificationJob(
        notification_id=str(uuid.uuid5(uuid.NAMESPACE_URL, message_id + endpoint_id)),
        shipment_id=sid,
        address=endpoint_id,
    )
    job.webhook.message_id = message_id
    job.webhook.endpoint_id = endpoint_id
    job.webhook.event_type = "shipment.status_changed"
    job.webhook.payload = b'{"n":%d}' % n
    job.webhook.created_at.FromMilliseconds(int(time.time() * 1000) - (3 - n) * 60_000)
    return job


async def _store_messages(redis: Redis, endpoint_id: str, jobs: list[npb.NotificationJob]) -> None:
    for job in jobs:
        created = job.webhook.created_at.ToMilliseconds()
        await redis.zadd(endpoint_messages_key(endpoint_id), {job.webhook.message_id: created})
        await redis.hset(
            endpoint_bodies_key(endpoint_id), job.webhook.message_id, job.SerializeToString()
        )


async def test_account_events_applied_and_unreadable_ones_dead_lettered(
    settings: Settings, redis: Redis
) -> None:
    a = model.new_account_id()
    key_id, key = model.new_key()
    created = model.event(a, created=apb.AccountCreated(name="Acme"))
    added = model.event(a, key_added=apb.KeyAdded(key_id=key_id, sha256=model.key_sha256(key)))
    nameless = model.event(a, created=apb.AccountCreated())
    async with running_tracker(settings):
        await produce(
            settings,
            settings.accounts_topic,
            [
                (a.encode(), b"\x08\x96\x01garbage"),
                (a.encode(), nameless.SerializeToString()),
                (a.encode(), created.SerializeToString()),
                (a.encode(), added.SerializeToString()),
                (a.encode(), added.SerializeToString()),  # a redelivery
            ],
        )
        await eventually(lambda: _consumed(settings))
        letters = await read_all(settings, settings.accounts_dead_letter_topic)
    reasons = sorted(dict(r.headers)["reason"].decode() for r in letters)
    assert len(reasons) == 2
    assert reasons[0] == "created.name missing"
    assert reasons[1].startswith("not an AccountEvent")
    assert all(dict(r.headers)["source.topic"] == settings.accounts_topic.encode() for r in letters)
    assert await accounts.key_account(redis, model.key_sha256(key)) == (a, key_id)
    found = await accounts.account(redis, a)
    assert found is not None
    assert found.name == "Acme"


async def test_a_replay_sends_the_messages_again_once_with_their_ids(
    settings: Settings, redis: Redis
) -> None:
    a, ep, sid = model.new_account_id(), model.new_endpoint_id(), unique("replayed")
    jobs = [_webhook_job(sid, ep, n) for n in range(3)]
    await _store_messages(redis, ep, jobs)
    since = apb.WebhooksReplayed(endpoint_id=ep)
    since.since.FromMilliseconds(jobs[1].webhook.created_at.ToMilliseconds())
    every = model.event(a, webhooks_replayed=since)
    one = model.event(
        a,
        webhooks_replayed=apb.WebhooksReplayed(
            endpoint_id=ep, message_id=jobs[0].webhook.message_id
        ),
    )
    async with running_tracker(settings):
        await _produce(settings, [every, one, every])  # the first again: a redelivery
        await eventually(lambda: _consumed(settings))
        sent = [
            npb.NotificationJob.FromString(r.value)
            for r in await read_all(settings, settings.notifications_topic)
        ]
    expected = {
        model.replayed(jobs[1], every.event_id).notification_id: jobs[1].webhook.message_id,
        model.replayed(jobs[2], every.event_id).notification_id: jobs[2].webhook.message_id,
        model.replayed(jobs[0], one.event_id).notification_id: jobs[0].webhook.message_id,
    }
    # a redelivered replay makes the same jobs again: the notifier sends each once
    assert {j.notification_id: j.webhook.message_id for j in sent} == expected
    assert all(j.webhook.payload == jobs[int(j.webhook.payload[5:6])].webhook.payload for j in sent)
    assert {j.webhook.created_at.ToMilliseconds() for j in sent} == {
        j.webhook.created_at.ToMilliseconds() for j in jobs
    }


async def test_rebuild_restores_accounts_and_owners_and_sends_no_replay(
    settings: Settings, redis: Redis
) -> None:
    a, ep = model.new_account_id(), model.new_endpoint_id()
    key_id, key = model.new_key()
    sha = model.key_sha256(key)
    sid = unique("owned")
    registered = registration_event(sid)
    registered.registered.account_id = a
    await _store_messages(redis, ep, [_webhook_job(sid, ep, 0)])
    replay = apb.WebhooksReplayed(endpoint_id=ep)
    replay.since.FromMilliseconds(0)
    events = [
        model.event(a, created=apb.AccountCreated(name="Acme")),
        model.event(a, key_added=apb.KeyAdded(key_id=key_id, sha256=sha)),
        model.event(a, team_set=apb.TeamSet(members=[apb.TeamMember(name="Dana")])),
        model.event(a, webhooks_replayed=replay),
    ]
    async with running_tracker(settings):
        await produce(
            settings, settings.events_topic, [(sid.encode(), registered.SerializeToString())]
        )
        await _produce(settings, events)
        await eventually(lambda: _consumed(settings))
        await eventually(lambda: consumed(settings, settings.tracker_group, settings.events_topic))
    jobs_before = len(await read_all(settings, settings.notifications_topic))
    assert await accounts.owner(redis, sid) == a
    before = await accounts.account(redis, a)
    assert before is not None
    if isinstance(redis, RedisCluster):
        await redis.flushall(target_nodes=RedisCluster.PRIMARIES)
    else:
        await redis.flushall()
    assert await accounts.account(redis, a) is None

    done = await rebuild(settings)
    assert done.accounts == 4
    assert await accounts.account(redis, a) == before
    assert await accounts.key_account(redis, sha) == (a, key_id)
    assert await accounts.owner(redis, sid) == a
    assert len(await read_all(settings, settings.notifications_topic)) == jobs_before


async def test_a_delivery_is_surveyed_by_its_accounts_settings(
    settings: Settings, redis: Redis
) -> None:
    quiet, ces = model.new_account_id(), model.new_account_id()
    events = [
        model.event(quiet, survey_settings=apb.SurveySettings(off=True)),
        model.event(ces, survey_settings=apb.SurveySettings(scale=spb.SCALE_CES, delay_s=60)),
    ]
    shipments = {quiet: unique("quiet"), ces: unique("ces"), "": unique("carrier")}
    records = []
    for account_id, sid in shipments.items():
        registered = registration_event(sid)
        registered.registered.account_id = account_id
        delivered = status_event(sid, Status.DELIVERED)
        records += [(sid.encode(), e.SerializeToString()) for e in (registered, delivered)]
    async with running_tracker(settings, None):  # the service's planner: surveys too
        await _produce(settings, events)
        await eventually(lambda: _consumed(settings))
        await produce(settings, settings.events_topic, records)
        await eventually(lambda: consumed(settings, settings.tracker_group, settings.events_topic))
        jobs = [
            npb.NotificationJob.FromString(r.value)
            for r in await read_all(settings, settings.notifications_topic)
        ]
    surveys = {
        sid: [j for j in jobs if j.shipment_id == sid and j.kind == npb.NOTICE_KIND_SURVEY]
        for sid in shipments.values()
    }
    assert surveys[shipments[quiet]] == []
    assert any(j.shipment_id == shipments[quiet] for j in jobs)  # its status notices still
    assert {j.scale for j in surveys[shipments[ces]]} == {spb.SCALE_CES}
    carrier = surveys[shipments[""]]
    assert carrier
    assert {j.scale for j in carrier} == {settings.survey_rules().scale}
