"""ingest against the real broker: what a 202 promises, and every kind of bad input."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from shipnotify import kafka
from shipnotify.config import Settings
from shipnotify.devstack import processes
from shipnotify.devstack.processes import free_port
from shipnotify.ingest import app as ingest_app
from shipnotify.v1 import shipment_events_pb2 as pb

from .conftest import Api, api_key, courier, eventually, read_topic, registration, tap, unique


async def test_status_is_on_the_topic_when_202_is_answered(api: Api, settings: Settings) -> None:
    sid = unique("s")
    body = tap("picked_up", minutes_ago=90, location={"depot": "North", "country_code": "MD"})
    resp = await api.post(
        f"/v1/shipments/{sid}/events", json=body, headers=courier(settings, "courier-9")
    )
    assert resp.status == 202, await resp.text()
    assert await resp.json() == {"event_id": body["event_id"], "shipment_id": sid}

    [record] = await read_topic(settings, settings.events_topic, 1)
    event = pb.ShipmentEvent.FromString(record.value)
    assert record.key == sid.encode()
    assert event.event_id == body["event_id"]
    assert event.source == pb.SOURCE_COURIER_APP
    assert event.status_changed.status == pb.STATUS_PICKED_UP
    assert event.status_changed.courier_id == "courier-9"  # from the token, not the body
    assert event.status_changed.location.depot == "North"
    # an offline tap keeps the time it happened; recorded_at is when we took it
    lag_ms = event.recorded_at.ToMilliseconds() - event.occurred_at.ToMilliseconds()
    assert 89 * 60_000 < lag_ms < 91 * 60_000


async def test_registration_is_idempotent_in_its_tracking_id(api: Api, settings: Settings) -> None:
    sid = unique("s")
    replies = []
    for _ in range(2):
        resp = await api.post("/v1/shipments", json=registration(sid), headers=api_key(settings))
        assert resp.status == 202
        replies.append(await resp.json())
    assert replies[0]["tracking_id"] == replies[1]["tracking_id"]
    assert len(replies[0]["tracking_id"]) == 20
    assert replies[0]["tracking_url"] == f"http://tracking.test/t/{replies[0]['tracking_id']}"
    records = await read_topic(settings, settings.events_topic, 2)
    event = pb.ShipmentEvent.FromString(records[0].value)
    contact = event.registered.sender.contacts[0]
    assert (contact.phone, contact.email, contact.locale) == (
        "+40721234567",
        "ana@example.com",
        "ro",
    )
    assert list(contact.channels) == [pb.CHANNEL_SMS, pb.CHANNEL_EMAIL]


async def test_a_registration_names_its_depot_and_the_contacts_never_to_survey(
    api: Api, settings: Settings
) -> None:
    sid = unique("s")
    body = registration(sid)
    body["depot"] = "Chișinău hub"
    body["recipient"]["contacts"][0]["surveys"] = False
    resp = await api.post("/v1/shipments", json=body, headers=api_key(settings))
    assert resp.status == 202, await resp.text()
    [record] = await read_topic(settings, settings.events_topic, 1)
    registered = pb.ShipmentEvent.FromString(record.value).registered
    assert registered.depot == "Chișinău hub"
    assert registered.recipient.contacts[0].no_surveys
    assert not registered.sender.contacts[0].no_surveys  # asked unless told otherwise
    bad = await api.post(
        "/v1/shipments", json={**body, "depot": "x" * 500}, headers=api_key(settings)
    )
    assert bad.status == 422
    assert "depot" in (await bad.json())["fields"]


def _bad(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**body, **changes}


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (_bad(tap("x"), status="teleported"), 422, "status"),
        (_bad(tap("x"), status="registered"), 422, "status"),
        ({k: v for k, v in tap("delivered").items() if k != "event_id"}, 422, "event_id"),
        (_bad(tap("delivered"), event_id="42"), 422, "event_id"),
        (_bad(tap("delivered"), occurred_at="2026-01-01T10:00:00"), 422, "occurred_at"),
        (_bad(tap("delivered"), occurred_at="2999-01-01T10:00:00Z"), 422, "occurred_at"),
        (tap("delivery_attempted"), 422, "body"),
        (_bad(tap("delivered"), failure="refused"), 422, "body"),
        (
            _bad(tap("delivered"), location={"country_code": "Moldova"}),
            422,
            "location.country_code",
        ),
        (_bad(tap("delivered"), extra="field"), 422, "extra"),
        (tap("delivered", minutes_ago=31 * 24 * 60), 422, "occurred_at"),  # over the max age
        (_bad(tap("delivered"), occurred_at=1767261600), 422, "occurred_at"),
        (
            _bad(tap("delivered"), location={"depot": "North\r\nX-Injected: 1"}),
            422,
            "location.depot",
        ),
        (
            _bad(tap("delivered"), location={"city": "Chi\u0219in\u0103u\u202e"}),
            422,
            "location.city",
        ),
    ],
)
async def test_bad_status_bodies_get_422_naming_the_field(
    api: Api, settings: Settings, body: dict[str, Any], status: int, field: str
) -> None:
    resp = await api.post("/v1/shipments/s-3/events", json=body, headers=courier(settings))
    assert resp.status == status
    error = await resp.json()
    assert field in error["fields"], error
    assert error["error"] == "invalid_field"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"shipment_id": ""}, "shipment_id"),
        ({"sender": {"contacts": []}}, "sender.contacts"),
        ({"sender": {"contacts": [{"name": "A", "phone": "+4072"}]}}, "sender.contacts.0.phone"),
        (
            {"sender": {"contacts": [{"name": "A", "email": "not-an-email"}]}},
            "sender.contacts.0.email",
        ),
        (
            {
                "sender": {
                    "contacts": [{"name": "A", "email": "a@example.com", "time_zone": "Mars/Base"}]
                }
            },
            "sender.contacts.0.time_zone",
        ),
        (
            {
                "sender": {
                    "contacts": [{"name": "A", "email": "a@example.com", "channels": ["sms"]}]
                }
            },
            "sender.contacts.0",
        ),
        (
            {
                "sender": {
                    "contacts": [{"name": "Ana\r\nBcc: x@example.com", "phone": "+40721234567"}]
                }
            },
            "sender.contacts.0.name",
        ),
        (
            {"sender": {"contacts": [{"name": "Ana\x00", "phone": "+40721234567"}]}},
            "sender.contacts.0.name",
        ),
        (
            {"sender": {"contacts": [{"name": "\u2028", "phone": "+40721234567"}]}},
            "sender.contacts.0.name",
        ),
        (
            {
                "recipient": {
                    "contacts": [{"name": "B", "email": "b@example.com\r\nBcc: x@example.com"}]
                }
            },
            "recipient.contacts.0.email",
        ),
        (
            {"sender": {"contacts": [{"name": "A", "phone": "+40 721 234 567"}]}},
            "sender.contacts.0.phone",
        ),
        ({"occurred_at": "2000-01-01T10:00:00Z"}, "occurred_at"),
    ],
)
async def test_bad_registrations_get_422_naming_the_field(
    api: Api, settings: Settings, change: dict[str, Any], field: str
) -> None:
    resp = await api.post(
        "/v1/shipments", json={**registration("s-4"), **change}, headers=api_key(settings)
    )
    assert resp.status == 422
    assert field in (await resp.json())["fields"]


async def test_a_name_with_any_visible_character_is_registered(
    api: Api, settings: Settings
) -> None:
    sid = unique("s")
    name = "Mahdi \u0645\u0647\u062f\u06cc\u200c\u0632\u0627\u062f\u0647 \U0001f469\u200d\U0001f527"
    body = registration(sid)
    body["sender"]["contacts"][0]["name"] = f"  {name} "
    resp = await api.post("/v1/shipments", json=body, headers=api_key(settings))
    assert resp.status == 202, await resp.text()
    [record] = await read_topic(settings, settings.events_topic, 1)
    assert pb.ShipmentEvent.FromString(record.value).registered.sender.contacts[0].name == name


async def test_the_tap_age_limit_is_the_setting(settings: Settings) -> None:
    sid = unique("s")
    own = settings.with_(max_tap_age_days=2)
    await kafka.ensure_topics(own)
    async with TestClient(TestServer(ingest_app.init_app(own))) as client:
        await eventually(lambda: _ready(client))
        old = tap("picked_up", minutes_ago=3 * 24 * 60)
        resp = await client.post(f"/v1/shipments/{sid}/events", json=old, headers=courier(own))
        assert resp.status == 422
        assert (await resp.json())["fields"][
            "occurred_at"
        ] == "Value error, is more than 2 days old"
        recent = tap("picked_up", minutes_ago=24 * 60)
        resp = await client.post(f"/v1/shipments/{sid}/events", json=recent, headers=courier(own))
        assert resp.status == 202


async def test_invalid_json_is_400(api: Api, settings: Settings) -> None:
    resp = await api.post("/v1/shipments/s-5/events", data=b"{not json", headers=courier(settings))
    assert resp.status == 400
    assert (await resp.json())["fields"].keys() == {"body"}


async def test_body_too_large_is_413(api: Api, settings: Settings) -> None:
    big = _bad(tap("delivered"), padding="x" * settings.max_body_bytes)
    resp = await api.post("/v1/shipments/s-6/events", json=big, headers=courier(settings))
    assert resp.status == 413
    assert "body" in (await resp.json())["fields"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic Zm9vOmJhcg=="},
        {"X-Api-Key": "wrong"},
    ],
)
async def test_missing_or_bad_credentials_are_401(
    api: Api, settings: Settings, headers: dict[str, str]
) -> None:
    resp = await api.post("/v1/shipments/s-7/events", json=tap("delivered"), headers=headers)
    assert resp.status == 401
    assert (await resp.json())["error"] == "unauthorized"
    resp = await api.post("/v1/shipments", json=registration("s-7"), headers=headers)
    assert resp.status == 401


async def test_order_system_may_cancel_with_its_key(api: Api, settings: Settings) -> None:
    sid = unique("s")
    resp = await api.post(
        f"/v1/shipments/{sid}/events", json=tap("cancelled"), headers=api_key(settings)
    )
    assert resp.status == 202
    [record] = await read_topic(settings, settings.events_topic, 1)
    assert pb.ShipmentEvent.FromString(record.value).source == pb.SOURCE_ORDER_SYSTEM


async def test_batch_answers_per_item_and_appends_the_valid_ones(
    api: Api, settings: Settings
) -> None:
    sid = unique("s")
    good = [
        {**tap("picked_up", minutes_ago=180), "shipment_id": sid},
        {**tap("in_transit", minutes_ago=120), "shipment_id": sid},
    ]
    bad = {**tap("flying"), "shipment_id": sid}
    old = {**tap("picked_up", minutes_ago=31 * 24 * 60), "shipment_id": sid}
    resp = await api.post(
        "/v1/events:batch",
        json={"events": [good[0], bad, good[1], old]},
        headers=courier(settings),
    )
    assert resp.status == 200
    reply = await resp.json()
    assert (reply["accepted"], reply["rejected"]) == (2, 2)
    assert [r["result"] for r in reply["results"]] == [
        "accepted",
        "rejected",
        "accepted",
        "rejected",
    ]
    assert "events.1.status" in reply["results"][1]["fields"]
    assert reply["results"][3]["fields"] == {
        "events.3.occurred_at": "Value error, is more than 30 days old"
    }
    records = await read_topic(settings, settings.events_topic, 2)
    assert sorted(pb.ShipmentEvent.FromString(r.value).event_id for r in records) == sorted(
        g["event_id"] for g in good
    )


async def test_batch_over_the_limit_is_413(api: Api, settings: Settings) -> None:
    events = [{**tap("picked_up"), "shipment_id": "s"}] * (settings.max_batch_events + 1)
    resp = await api.post("/v1/events:batch", json={"events": events}, headers=courier(settings))
    assert resp.status == 413
    assert "events" in (await resp.json())["fields"]


async def test_kafka_unreachable_gets_503_with_retry_after(settings: Settings) -> None:
    sid = unique("s")
    down = settings.with_(kafka_bootstrap=f"127.0.0.1:{free_port()}", kafka_send_timeout_s=0.5)
    async with TestClient(TestServer(ingest_app.init_app(down))) as client:
        resp = await client.post(
            f"/v1/shipments/{sid}/events", json=tap("delivered"), headers=courier(down)
        )
        assert resp.status == 503
        assert resp.headers["Retry-After"] == "5"
        assert (await resp.json())["fields"] == {"kafka": "unreachable"}
        ready = await client.get("/readyz")
        assert ready.status == 503
        assert (await ready.json())["checks"] == {"kafka": False}


async def test_kafka_lost_after_start_gets_503(settings: Settings, tmp_path: Any) -> None:
    """A broker that dies under a running ingest: no 202 without the broker's acknowledgement."""
    sid = unique("s")
    with processes.broker(tmp_path) as broker:
        own = settings.with_(kafka_bootstrap=broker.address, kafka_send_timeout_s=1.0)
        await kafka.ensure_topics(own)
        async with TestClient(TestServer(ingest_app.init_app(own))) as client:
            await eventually(lambda: _ready(client))
            first = await client.post(
                f"/v1/shipments/{sid}/events", json=tap("picked_up"), headers=courier(own)
            )
            assert first.status == 202
            broker.stop()
            resp = await client.post(
                f"/v1/shipments/{sid}/events", json=tap("delivered"), headers=courier(own)
            )
            assert resp.status == 503
            assert resp.headers["Retry-After"]


async def _ready(client: Api) -> bool:
    return (await client.get("/readyz")).status == 200


async def test_unknown_route_and_method_are_json(api: Api) -> None:
    resp = await api.get("/v1/nothing-here")
    assert resp.status == 404
    assert (await resp.json())["error"] == "not_found"
    resp = await api.get("/v1/shipments")
    assert resp.status == 405
    assert "POST" in resp.headers["Allow"]


async def test_event_id_can_be_retried(api: Api, settings: Settings) -> None:
    sid = unique("s")
    body = tap("picked_up")
    for _ in range(3):  # the app did not hear the answer and retries
        resp = await api.post(f"/v1/shipments/{sid}/events", json=body, headers=courier(settings))
        assert resp.status == 202
    records = await read_topic(settings, settings.events_topic, 3)
    assert {pb.ShipmentEvent.FromString(r.value).event_id for r in records} == {body["event_id"]}
    assert uuid.UUID(body["event_id"])
