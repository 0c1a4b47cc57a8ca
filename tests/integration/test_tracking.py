"""ingest -> Kafka -> tracker -> Redis -> status_api, on the real broker and redis-server."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from shipnotify import kafka
from shipnotify.bench import shipments
from shipnotify.config import Settings
from shipnotify.model.codec import entry_for
from shipnotify.model.status import Shipment, Status
from shipnotify.store import Applied, TrackingStore, connect, learn_slots
from shipnotify.store.keys import shipment_keys
from shipnotify.v1 import shipment_events_pb2 as pb

from .conftest import Api, courier, eventually, read_topic, register, running_tracker, tap, unique


async def track(api: Api, tracking_id: str, **params: str) -> dict[str, Any]:
    resp = await api.get(f"/v1/track/{tracking_id}", params=params)
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


async def post(api: Api, settings: Settings, shipment_id: str, body: dict[str, Any]) -> None:
    resp = await api.post(
        f"/v1/shipments/{shipment_id}/events", json=body, headers=courier(settings)
    )
    assert resp.status == 202, await resp.text()


async def test_a_posted_status_appears_in_the_status_api(api: Api, settings: Settings) -> None:
    sid = unique("ship")
    async with running_tracker(settings):
        tid = await register(api, settings, sid)
        await post(api, settings, sid, tap("picked_up", location={"city": "Bălți"}))

        async def picked_up() -> dict[str, Any] | None:
            resp = await api.get(f"/v1/track/{tid}")
            body: dict[str, Any] = await resp.json() if resp.status == 200 else {}
            return body if body.get("status") == "picked_up" else None

        body = await eventually(picked_up)
    assert body["label"] == "Picked up"
    assert body["tracking_id"] == tid
    assert [e["status"] for e in body["timeline"]] == ["registered", "picked_up"]
    assert body["timeline"][1]["location"] == {"city": "Bălți"}
    # no personal data: no name, phone, email, courier id, shipment id
    text = str(body)
    for secret in ("Ana", "+40721234567", "ana@example.com", "courier-1", sid):
        assert secret not in text


async def test_labels_follow_the_language_asked_for(api: Api, settings: Settings) -> None:
    sid = unique("ship")
    async with running_tracker(settings):
        tid = await register(api, settings, sid)
        await eventually(lambda: _status(api, tid))
    assert (await track(api, tid, lang="ru"))["label"] == "Зарегистрировано"
    resp = await api.get(f"/v1/track/{tid}", headers={"Accept-Language": "ro-RO,ro;q=0.9"})
    assert (await resp.json())["label"] == "Înregistrat"
    resp = await api.get(f"/v1/track/{tid}", params={"lang": "xx"})
    assert resp.status == 422
    assert "lang" in (await resp.json())["fields"]


async def test_etag_revalidation_and_unknown_ids(api: Api, settings: Settings) -> None:
    sid = unique("ship")
    async with running_tracker(settings):
        tid = await register(api, settings, sid)
        await eventually(lambda: _status(api, tid))
        first = await api.get(f"/v1/track/{tid}")
        etag = first.headers["ETag"]
        same = await api.get(f"/v1/track/{tid}", headers={"If-None-Match": etag})
        assert same.status == 304
        assert same.headers["ETag"] == etag
        await post(api, settings, sid, tap("confirmed"))
        await eventually(lambda: _status(api, tid, "confirmed"))
        changed = await api.get(f"/v1/track/{tid}", headers={"If-None-Match": etag})
        assert changed.status == 200
        assert changed.headers["ETag"] != etag
        other_lang = await api.get(
            f"/v1/track/{tid}",
            params={"lang": "ru"},
            headers={"If-None-Match": changed.headers["ETag"]},
        )
        assert other_lang.status == 200  # the ETag names the language too
    missing = await api.get("/v1/track/doesnotexist0000000")
    assert missing.status == 404
    assert (await missing.json())["fields"] == {"tracking_id": "unknown"}


async def test_the_same_event_id_twice_makes_one_timeline_entry(
    api: Api, settings: Settings
) -> None:
    sid = unique("ship")
    async with running_tracker(settings):
        tid = await register(api, settings, sid)
        body = tap("picked_up")
        await post(api, settings, sid, body)
        await post(api, settings, sid, body)  # the app retried
        await post(api, settings, sid, tap("in_transit"))
        await eventually(lambda: _status(api, tid, "in_transit"))
    timeline = (await track(api, tid))["timeline"]
    assert [e["status"] for e in timeline] == ["registered", "picked_up", "in_transit"]


async def test_a_late_lower_status_is_kept_but_does_not_regress(
    api: Api, settings: Settings
) -> None:
    sid = unique("ship")
    async with running_tracker(settings):
        tid = await register(api, settings, sid)
        await post(api, settings, sid, tap("out_for_delivery", minutes_ago=10))
        # tapped 60 minutes ago while offline, uploaded now
        await post(api, settings, sid, tap("picked_up", minutes_ago=60))

        async def three() -> dict[str, Any] | None:
            resp = await api.get(f"/v1/track/{tid}")
            body: dict[str, Any] = await resp.json()
            return body if len(body.get("timeline", ())) == 3 else None

        body = await eventually(three)
    assert body["status"] == "out_for_delivery"
    assert [(e["status"], e["advanced"]) for e in body["timeline"]] == [
        ("picked_up", False),
        ("out_for_delivery", True),
        ("registered", True),
    ]  # by time


async def test_a_malformed_record_is_dead_lettered_and_the_next_one_applied(
    api: Api, settings: Settings
) -> None:
    sid = unique("ship")
    await kafka.ensure_topics(settings)
    producer = kafka.producer(settings)
    await producer.start()
    try:
        tid = await register(api, settings, sid)
        await producer.send_and_wait(settings.events_topic, key=sid.encode(), value=b"\x00garbage")
        wrong = pb.ShipmentEvent(event_id="not-a-uuid", shipment_id=sid)
        await producer.send_and_wait(
            settings.events_topic, key=sid.encode(), value=wrong.SerializeToString()
        )
    finally:
        await producer.stop()
    await post(api, settings, sid, tap("confirmed"))
    async with running_tracker(settings):
        await eventually(lambda: _status(api, tid, "confirmed"))
    letters = await read_topic(settings, settings.events_dead_letter_topic, 2)
    reasons = sorted(dict(r.headers)["reason"].decode() for r in letters)
    assert reasons[0].startswith("event_id is not a UUID")
    assert reasons[1].startswith("not a ShipmentEvent")
    assert {r.value for r in letters} == {b"\x00garbage", wrong.SerializeToString()}
    assert all(dict(r.headers)["source.topic"] == settings.events_topic.encode() for r in letters)


async def test_the_planner_seam_emits_jobs_before_commit_and_again_on_redelivery(
    api: Api, settings: Settings, redis: Redis
) -> None:
    sid = unique("ship")

    def plan(applied: Applied) -> Sequence[tuple[bytes, bytes]]:
        if not applied.advanced:
            return ()
        event = applied.event
        return [(event.shipment_id.encode(), f"{event.event_id}:{applied.previous}".encode())]

    body = tap("picked_up")
    async with running_tracker(settings, plan):
        tid = await register(api, settings, sid)
        await post(api, settings, sid, body)
        await eventually(lambda: _status(api, tid, "picked_up"))
    jobs = await read_topic(settings, settings.notifications_topic, 2)
    assert jobs[-1].value.startswith(f"{body['event_id']}:registered".encode())
    # The same record delivered again (a crash before commit): the same job again, to the
    # byte (its trace context too, the record's).
    [*_, record] = await read_topic(settings, settings.events_topic, 2)
    producer = kafka.producer(settings)
    await producer.start()
    await producer.send_and_wait(
        settings.events_topic, record.value, key=record.key, headers=list(record.headers)
    )
    await producer.stop()
    async with running_tracker(settings, plan):
        again = await read_topic(settings, settings.notifications_topic, 3)
    assert again[-1].value == jobs[-1].value
    timeline = (await track(api, tid))["timeline"]
    assert len(timeline) == 2


async def test_the_script_and_the_model_agree_on_random_streams(redis: Redis) -> None:
    """The Lua script and model.status.Shipment give the same status and outcomes."""
    store = TrackingStore(redis)
    rng = random.Random(7)
    for n in range(60):
        shipment_id = f"agree-{uuid.uuid4().hex[:8]}-{n}"
        model = Shipment()
        events = []
        for i in range(rng.randint(1, 10)):
            event = pb.ShipmentEvent(event_id=str(uuid.uuid4()), shipment_id=shipment_id)
            event.occurred_at.FromMilliseconds(rng.randint(0, 20))
            event.status_changed.status = rng.choice(list(Status)).proto
            events.append(event)
            if i and rng.random() < 0.3:
                events.append(rng.choice(events))  # a redelivery
        applied = await store.apply(events)
        first: dict[str, Applied] = {}
        for event, result in zip(events, applied, strict=True):
            moved = model.apply(
                event.event_id,
                Status.from_proto(event.status_changed.status),
                event.occurred_at.ToMilliseconds(),
            )
            assert result.duplicate == (moved is None)
            if moved is not None:
                assert result.advanced == moved
                first[event.event_id] = result
            else:  # read back from the stored entry
                was = first[event.event_id]
                assert (result.advanced, result.previous) == (was.advanced, was.previous)
        state = await redis.hget(shipment_keys(shipment_id)[0], "s")
        assert model.status is not None
        assert state == model.status.value.encode()


async def test_a_delivered_benchmark_shipment_keeps_its_timeline_in_a_listpack(
    redis: Redis,
) -> None:
    """Every entry within hash-max-listpack-value (64 bytes) keeps the hash a listpack."""
    parcel = shipments.parcels(uuid.uuid4().hex[:8], 1, shipments.MIN_EVENTS)[0]
    events = list(shipments.events(parcel, "s" * 32))
    await TrackingStore(redis).apply(events)
    timeline_key = shipment_keys(parcel.shipment_id)[1]
    assert await redis.object("encoding", timeline_key) == b"listpack"
    values = await redis.hvals(timeline_key)
    assert len(values) == len(events)
    assert max(len(v) for v in values) <= 64
    shipment = await TrackingStore(redis).shipment(parcel.shipment_id)
    assert shipment is not None
    assert shipment.timeline == [replace(entry_for(e), advanced=True) for e in events]


async def test_a_new_client_sends_its_first_burst_to_the_right_nodes(
    settings: Settings, redis: Redis
) -> None:
    """On a cluster, the servers answer no MOVED to a new client's first burst: it learnt the
    slots first (redis-py sends what is asked before that to random nodes)."""
    before = await _moved(redis)  # read by another client: a first command would teach it
    new = connect(settings)
    try:
        await learn_slots(new)
        parcels = shipments.parcels(uuid.uuid4().hex[:8], 30, shipments.MIN_EVENTS)
        applied = await TrackingStore(new).apply([next(shipments.events(p, "s")) for p in parcels])
        assert all(a.advanced for a in applied)
    finally:
        await new.aclose()
    assert await _moved(redis) == before


async def _moved(redis: Redis) -> int:
    """MOVED replies the servers have given, from their error statistics."""
    if isinstance(redis, RedisCluster):
        per_node = await redis.info("errorstats", target_nodes=RedisCluster.PRIMARIES)
        stats = list(per_node.values())
    else:
        stats = [await redis.info("errorstats")]
    return sum(int(s.get("errorstat_MOVED", {}).get("count", 0)) for s in stats)


async def test_a_redis_that_forgot_the_script_applies_each_event_once(redis: Redis) -> None:
    """A restarted Redis, or one node of a cluster, without the script: its events are
    applied once it is loaded again, and no event another node applied is applied twice."""
    store = TrackingStore(redis)
    parcels = shipments.parcels(uuid.uuid4().hex[:8], 30, shipments.MIN_EVENTS)
    await store.apply([next(shipments.events(p, "s" * 32)) for p in parcels])  # loaded everywhere
    if isinstance(redis, RedisCluster):  # one node of three forgets
        await redis.execute_command("SCRIPT FLUSH", target_nodes=redis.get_primaries()[0])
    else:
        await redis.script_flush()
    rest = [e for p in parcels for e in list(shipments.events(p, "s" * 32))[1:]]
    applied = await store.apply(rest)
    assert [a.duplicate for a in applied] == [False] * len(rest)
    assert all(a.advanced for a in applied)
    for parcel in parcels:
        shipment = await store.shipment(parcel.shipment_id)
        assert shipment is not None
        assert len(shipment.timeline) == shipments.MIN_EVENTS


async def test_entries_stored_as_json_before_are_read_and_deduped_as_then(redis: Redis) -> None:
    """A redelivered event whose entry an older version stored as JSON reports what its
    first delivery did, and the timeline reads both layouts."""
    store = TrackingStore(redis)
    sid = f"json-{uuid.uuid4()}"
    events = []
    for at, status in enumerate((pb.STATUS_OUT_FOR_DELIVERY, pb.STATUS_DELIVERED)):
        event = pb.ShipmentEvent(event_id=str(uuid.uuid4()), shipment_id=sid)
        event.occurred_at.FromMilliseconds(1_700_000_000_000 + at)
        event.recorded_at.FromMilliseconds(1_700_000_000_000 + at)
        event.status_changed.status = status
        event.status_changed.location.city = "Chișinău"
        events.append(event)
    late = pb.ShipmentEvent(event_id=str(uuid.uuid4()), shipment_id=sid)
    late.occurred_at.FromMilliseconds(1_600_000_000_000)
    late.status_changed.status = pb.STATUS_PICKED_UP
    state, timeline, *_ = shipment_keys(sid)
    await redis.hset(state, mapping={"s": "delivered", "o": 1_700_000_000_001, "v": 3})
    await redis.hset(
        timeline,
        mapping={
            events[0].event_id: '{"s":"out_for_delivery","o":1700000000000,"r":1700000000000,'
            '"l":{"city":"Chișinău"},"a":1,"p":""}',
            events[1].event_id: '{"s":"delivered","o":1700000000001,"r":1700000000001,'
            '"l":{"city":"Chișinău"},"a":1,"p":"out_for_delivery"}',
            late.event_id: '{"s":"picked_up","o":1600000000000,"r":0,"a":0,"p":"delivered"}',
        },
    )
    again = await store.apply([*events, late])
    assert [(a.duplicate, a.advanced, a.previous) for a in again] == [
        (True, True, None),
        (True, True, Status.OUT_FOR_DELIVERY),
        (True, False, Status.DELIVERED),
    ]
    cancelled = pb.ShipmentEvent(event_id=str(uuid.uuid4()), shipment_id=sid)
    cancelled.occurred_at.FromMilliseconds(1_700_000_000_002)
    cancelled.status_changed.status = pb.STATUS_CANCELLED
    await store.apply([cancelled])  # stored compact, beside the JSON entries
    [redelivered] = await store.apply([cancelled])
    assert (redelivered.duplicate, redelivered.advanced) == (True, False)
    assert redelivered.previous is Status.DELIVERED
    shipment = await store.shipment(sid)
    assert shipment is not None
    expected = [late, *events, cancelled]
    assert [(e.status, e.advanced) for e in shipment.timeline] == [
        (Status.from_proto(e.status_changed.status), e is not late and e is not cancelled)
        for e in expected
    ]
    assert shipment.timeline[1:3] == [replace(entry_for(e), advanced=True) for e in events]


async def test_delivered_shipments_expire_after_the_retention(redis: Redis) -> None:
    store = TrackingStore(redis, retention_days=2)
    event = pb.ShipmentEvent(event_id=str(uuid.uuid4()), shipment_id=f"ret-{uuid.uuid4()}")
    event.occurred_at.FromMilliseconds(1)
    event.status_changed.status = pb.STATUS_DELIVERED
    await store.apply([event])
    ttl = await redis.ttl(shipment_keys(event.shipment_id)[0])
    assert 2 * 86400 - 10 < ttl <= 2 * 86400


async def test_readyz_checks_redis_and_kafka(api: Api) -> None:
    resp = await api.get("/readyz")
    assert resp.status == 200
    assert (await resp.json())["checks"] == {"kafka": True, "redis": True}
    assert (await api.get("/healthz")).status == 200


async def _status(api: Api, tid: str, status: str = "registered") -> bool:
    resp = await api.get(f"/v1/track/{tid}")
    return resp.status == 200 and (await resp.json())["status"] == status
