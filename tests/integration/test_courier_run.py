"""The courier app's API on the real ingest, tracker, Kafka and Redis: assignments, a
courier's run, a shipment opened by its tracking number, taps on another courier's shipment,
and who received a delivery."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from shipnotify.config import Settings
from shipnotify.model.status import next_taps
from shipnotify.store import TrackingStore
from shipnotify.store.keys import push_key
from shipnotify.v1 import shipment_events_pb2 as pb

from .conftest import (
    Api,
    api_key,
    courier,
    eventually,
    read_topic,
    registration,
    running_tracker,
    tap,
    unique,
)


async def run_of(api: Api, settings: Settings, courier_id: str) -> dict[str, Any]:
    resp = await api.get("/v1/courier/shipments", headers=courier(settings, courier_id))
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


async def register(api: Api, settings: Settings, sid: str, **extra: Any) -> str:
    body = {**registration(sid), **extra}
    resp = await api.post("/v1/shipments", json=body, headers=api_key(settings))
    assert resp.status == 202, await resp.text()
    tracking_id: str = (await resp.json())["tracking_id"]
    return tracking_id


async def assign(api: Api, settings: Settings, sid: str, courier_id: str | None) -> None:
    resp = await api.put(
        f"/v1/shipments/{sid}/courier", json={"courier_id": courier_id}, headers=api_key(settings)
    )
    assert resp.status == 202, await resp.text()


async def test_a_run_lists_the_couriers_shipments_and_no_one_elses(
    api: Api, settings: Settings
) -> None:
    mine, theirs, moved = unique("mine"), unique("theirs"), unique("moved")
    me, other = unique("courier"), unique("courier")
    async with running_tracker(settings):
        tid = await register(
            api, settings, mine, courier_id=me, delivery_address="str. Ștefan cel Mare 1, Chișinău"
        )
        await register(api, settings, theirs, courier_id=other)
        await register(api, settings, moved)
        await assign(api, settings, moved, me)

        async def both() -> dict[str, Any] | None:
            run = await run_of(api, settings, me)
            return run if len(run["shipments"]) == 2 else None

        run = await eventually(both)
        await assign(api, settings, moved, other)  # given to another since

        async def one() -> dict[str, Any] | None:
            run = await run_of(api, settings, me)
            return run if len(run["shipments"]) == 1 else None

        after = await eventually(one)
        assert [s["shipment_id"] for s in (await run_of(api, settings, other))["shipments"]] == [
            moved,
            theirs,
        ]  # newest assignment first
    assert {s["shipment_id"] for s in run["shipments"]} == {mine, moved}
    stop = after["shipments"][0]
    assert stop == {
        "shipment_id": mine,
        "tracking_id": tid,
        "status": "registered",
        "status_at": stop["status_at"],
        "recipient": {"name": "Ion Rusu", "address": "str. Ștefan cel Mare 1, Chișinău"},
        "next": [s.value for s in next_taps(None)],
    }
    # only what the job needs: no email, no sender
    assert "ion@example.com" not in str(after)
    assert "Ana" not in str(after)
    assert after["progress"]["out_for_delivery"] == [
        "delivery_attempted",
        "ready_for_collection",
        "delivered",
        "returned_to_sender",
    ]
    assert after["progress"]["delivered"] == []


async def test_a_shipment_opened_by_its_tracking_number(api: Api, settings: Settings) -> None:
    free, held = unique("free"), unique("held")
    async with running_tracker(settings):
        free_tid = await register(api, settings, free)
        held_tid = await register(api, settings, held, courier_id="someone-else")

        async def known() -> bool:
            resp = await api.get(f"/v1/courier/shipments/{held_tid}", headers=courier(settings))
            return resp.status != 404

        await eventually(known)
        got = await api.get(f"/v1/courier/shipments/{free_tid}", headers=courier(settings))
        refused = await api.get(f"/v1/courier/shipments/{held_tid}", headers=courier(settings))
    assert got.status == 200
    assert (await got.json())["shipment_id"] == free
    assert refused.status == 403
    assert (await refused.json())["fields"] == {"tracking_id": "assigned to another courier"}
    unknown = await api.get("/v1/courier/shipments/nosuchnumber", headers=courier(settings))
    assert unknown.status == 404
    assert (await unknown.json())["fields"] == {"tracking_id": "unknown"}
    anonymous = await api.get("/v1/courier/shipments")
    assert anonymous.status == 401


async def test_a_tap_on_another_couriers_shipment_is_refused_with_the_reason(
    api: Api, settings: Settings
) -> None:
    sid, mine, other = unique("theirs"), unique("mine"), unique("courier")
    async with running_tracker(settings):
        await register(api, settings, sid, courier_id=other)
        await register(api, settings, mine, courier_id="courier-1")

        async def assigned() -> bool:
            return bool((await run_of(api, settings, other))["shipments"])

        await eventually(assigned)
        batch = {
            "events": [
                {**tap("picked_up"), "shipment_id": sid},
                {**tap("picked_up"), "shipment_id": mine},
            ]
        }
        resp = await api.post("/v1/events:batch", json=batch, headers=courier(settings))
        single = await api.post(
            f"/v1/shipments/{sid}/events", json=tap("picked_up"), headers=courier(settings)
        )
        by_key = await api.post(
            f"/v1/shipments/{sid}/events", json=tap("confirmed"), headers=api_key(settings)
        )
    body = await resp.json()
    assert [r["result"] for r in body["results"]] == ["rejected", "accepted"]
    assert body["results"][0]["fields"] == {"events.0.shipment_id": "assigned to another courier"}
    assert single.status == 403
    assert (await single.json())["fields"] == {"shipment_id": "assigned to another courier"}
    assert by_key.status == 202  # the order system is no courier


async def test_who_received_it_travels_in_the_event_and_only_with_delivered(
    api: Api, settings: Settings
) -> None:
    sid = unique("recv")
    ok = await api.post(
        f"/v1/shipments/{sid}/events",
        json=tap("delivered", received_by="Maria Ionescu"),
        headers=courier(settings),
    )
    wrong = await api.post(
        f"/v1/shipments/{sid}/events",
        json=tap("picked_up", received_by="Maria"),
        headers=courier(settings),
    )
    assert ok.status == 202, await ok.text()
    assert wrong.status == 422
    assert "received_by goes only with delivered" in (await wrong.text())
    event_id = (await ok.json())["event_id"]
    records = await read_topic(settings, settings.events_topic, 1, timeout_s=30)

    async def found() -> pb.ShipmentEvent | None:
        for r in await read_topic(settings, settings.events_topic, len(records)):
            event = pb.ShipmentEvent.FromString(r.value)
            if event.event_id == event_id:
                return event
        return None

    event = await eventually(found)
    assert event.status_changed.received_by == "Maria Ionescu"


async def test_push_subscriptions_follow_the_events(settings: Settings, redis: Redis) -> None:
    """The tracker keeps a shipment's subscriptions as the events say, and forgets them all
    when its contacts are erased."""
    store = TrackingStore(redis)
    sid = unique("push")

    def event(body: str, endpoint: str = "") -> pb.ShipmentEvent:
        e = pb.ShipmentEvent(event_id="00000000-0000-4000-8000-000000000000", shipment_id=sid)
        if body == "push_subscribed":
            e.push_subscribed.CopyFrom(pb.PushSubscribed(endpoint=endpoint, p256dh="k", auth="a"))
        elif body == "push_unsubscribed":
            e.push_unsubscribed.endpoint = endpoint
        else:
            e.contacts_erased.SetInParent()
        return e

    await store.apply(
        [event("push_subscribed", "https://a/1"), event("push_subscribed", "https://a/2")]
    )
    await store.apply([event("push_unsubscribed", "https://a/1")])
    assert sorted(await redis.hkeys(push_key(sid))) == [b"https://a/2"]
    assert [s.endpoint for s in (await store.push.of([sid]))[0]] == ["https://a/2"]
    await store.apply([event("contacts_erased")])
    assert not await redis.exists(push_key(sid))
