"""hooks' push subscriptions against the real broker and redis-server: what a 202 promises
(the event on the topic, every field), an unknown tracking id, every kind of bad field, the
unsubscription, Kafka away, and the tracking page's origin across CORS."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from shipnotify import kafka
from shipnotify.config import Settings
from shipnotify.devstack.processes import free_port
from shipnotify.hooks import app as hooks_app
from shipnotify.model.ids import tracking_id_for
from shipnotify.store.keys import tracking_key
from shipnotify.v1 import shipment_events_pb2 as pb

from .conftest import Api, eventually, read_topic, unique

PATH = "/v1/push-subscriptions"
PAGE_ORIGIN = "http://tracking.test"  # the settings' public_url
# A browser's keys: an uncompressed P-256 point (0x04, then x and y) and 16 bytes.
P256DH = base64.urlsafe_b64encode(bytes([4]) + bytes(range(64))).decode().rstrip("=")
AUTH = base64.urlsafe_b64encode(bytes(range(100, 116))).decode().rstrip("=")
ENDPOINT = "https://fcm.googleapis.com/fcm/send/dQw4w9WgXcQ:APA91bH-x_y"


@pytest.fixture
async def hooks(settings: Settings) -> AsyncIterator[Api]:
    """hooks alone, as `shipnotify hooks` serves it, once its producer is connected."""
    await kafka.ensure_topics(settings)
    async with TestClient(TestServer(hooks_app.init_app(settings))) as client:

        async def ready() -> bool:
            return (await client.get("/readyz")).status == 200

        await eventually(ready)
        yield client


async def tracked(settings: Settings, redis: Redis) -> tuple[str, str]:
    """A shipment the tracker has seen: its tracking id names it in Redis."""
    shipment_id = unique("push")
    tracking_id = tracking_id_for(settings.tracking_id_secret, shipment_id)
    await redis.set(tracking_key(tracking_id), shipment_id)
    return shipment_id, tracking_id


def subscription(**changes: Any) -> dict[str, Any]:
    sub: dict[str, Any] = {
        "endpoint": ENDPOINT,
        "expirationTime": None,
        "keys": {"p256dh": P256DH, "auth": AUTH},
    }
    return {**sub, **changes}


def subscribe_body(tracking_id: str, /, **changes: Any) -> dict[str, Any]:
    body = {
        "tracking_id": tracking_id,
        "subscription": subscription(),
        "locale": "ro",
        "time_zone": "Europe/Chisinau",
    }
    return {k: v for k, v in {**body, **changes}.items() if v is not ...}


async def test_a_subscription_is_on_the_topic_when_202_is_answered(
    hooks: Api, settings: Settings, redis: Redis
) -> None:
    shipment_id, tracking_id = await tracked(settings, redis)
    before = datetime.now(UTC)
    resp = await hooks.post(PATH, json=subscribe_body(tracking_id))
    assert resp.status == 202, await resp.text()
    reply = await resp.json()
    assert reply["tracking_id"] == tracking_id
    assert uuid.UUID(reply["event_id"]).version == 4

    [record] = await read_topic(settings, settings.events_topic, 1)
    assert record.key == shipment_id.encode()
    event = pb.ShipmentEvent.FromString(record.value)
    assert event.event_id == reply["event_id"]
    assert event.shipment_id == shipment_id
    assert event.source == pb.SOURCE_UNSPECIFIED
    assert event.WhichOneof("body") == "push_subscribed"
    assert event.push_subscribed == pb.PushSubscribed(
        endpoint=ENDPOINT, p256dh=P256DH, auth=AUTH, locale="ro", time_zone="Europe/Chisinau"
    )
    assert event.occurred_at == event.recorded_at
    assert before <= event.recorded_at.ToDatetime(UTC) <= datetime.now(UTC)


async def test_an_unsubscription_is_on_the_topic(
    hooks: Api, settings: Settings, redis: Redis
) -> None:
    shipment_id, tracking_id = await tracked(settings, redis)
    resp = await hooks.delete(PATH, json={"tracking_id": tracking_id, "endpoint": ENDPOINT})
    assert resp.status == 202, await resp.text()
    [record] = await read_topic(settings, settings.events_topic, 1)
    event = pb.ShipmentEvent.FromString(record.value)
    assert (record.key, event.event_id) == (shipment_id.encode(), (await resp.json())["event_id"])
    assert event.WhichOneof("body") == "push_unsubscribed"
    assert event.push_unsubscribed.endpoint == ENDPOINT


@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_an_unknown_tracking_id_is_404(hooks: Api, method: str) -> None:
    unknown = "a" * 20
    body = (
        subscribe_body(unknown)
        if method == "POST"
        else {"tracking_id": unknown, "endpoint": ENDPOINT}
    )
    resp = await hooks.request(method, PATH, json=body)
    assert resp.status == 404
    error = await resp.json()
    assert error["error"] == "not_found"
    assert error["fields"] == {"tracking_id": "unknown"}


def _keys(**changes: str) -> dict[str, Any]:
    return subscription(keys={"p256dh": P256DH, "auth": AUTH, **changes})


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


BAD = [
    ({"tracking_id": "ABCDEFGHIJKLMNOPQRST"}, "tracking_id"),  # upper case
    ({"tracking_id": "abc"}, "tracking_id"),
    ({"tracking_id": ...}, "tracking_id"),
    ({"subscription": subscription(endpoint="http://push.example.com/x")}, "subscription.endpoint"),
    ({"subscription": subscription(endpoint="ftp://push.example.com/x")}, "subscription.endpoint"),
    (
        {"subscription": subscription(endpoint="https://p.example/" + "a" * 2031)},
        "subscription.endpoint",
    ),
    ({"subscription": subscription(endpoint="https://p.example/a b")}, "subscription.endpoint"),
    ({"subscription": subscription(endpoint=42)}, "subscription.endpoint"),
    ({"subscription": subscription(expirationTime=-1)}, "subscription.expirationTime"),
    ({"subscription": subscription(expirationTime="soon")}, "subscription.expirationTime"),
    ({"subscription": subscription(expirationTime=True)}, "subscription.expirationTime"),
    ({"subscription": _keys(p256dh=_b64(bytes([4]) + bytes(63)))}, "subscription.keys.p256dh"),
    ({"subscription": _keys(p256dh=_b64(bytes([2]) + bytes(64)))}, "subscription.keys.p256dh"),
    ({"subscription": _keys(p256dh=P256DH + "=")}, "subscription.keys.p256dh"),  # padded
    (
        {"subscription": _keys(p256dh=base64.b64encode(bytes([4]) + bytes([251] * 64)).decode())},
        "subscription.keys.p256dh",
    ),  # base64 with + and /, not base64url
    ({"subscription": _keys(auth=_b64(bytes(15)))}, "subscription.keys.auth"),
    ({"subscription": _keys(auth=_b64(bytes(17)))}, "subscription.keys.auth"),
    ({"subscription": subscription(keys={"p256dh": P256DH})}, "subscription.keys.auth"),
    ({"subscription": subscription(extra=1)}, "subscription.extra"),
    ({"locale": "Romanian"}, "locale"),
    ({"locale": ...}, "locale"),
    ({"time_zone": "Mars/Base"}, "time_zone"),
    ({"time_zone": "../../etc/passwd"}, "time_zone"),
    ({"lang": "ro"}, "lang"),
]


@pytest.mark.parametrize(("change", "field"), BAD)
async def test_each_bad_field_gets_422_naming_it(
    hooks: Api, settings: Settings, redis: Redis, change: dict[str, Any], field: str
) -> None:
    _, tracking_id = await tracked(settings, redis)
    resp = await hooks.post(PATH, json=subscribe_body(tracking_id, **change))
    assert resp.status == 422, await resp.text()
    error = await resp.json()
    assert error["error"] == "invalid_field"
    assert list(error["fields"]) == [field]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"endpoint": ENDPOINT}, "tracking_id"),
        ({"tracking_id": "a" * 20}, "endpoint"),
        ({"tracking_id": "a" * 20, "endpoint": "http://10.0.0.1/push"}, "endpoint"),
    ],
)
async def test_a_bad_unsubscription_gets_422_naming_the_field(
    hooks: Api, body: dict[str, Any], field: str
) -> None:
    resp = await hooks.delete(PATH, json=body)
    assert resp.status == 422
    assert list((await resp.json())["fields"]) == [field]


async def test_malformed_json_is_400(hooks: Api) -> None:
    resp = await hooks.post(PATH, data=b"{", headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert (await resp.json())["error"] == "invalid_json"


async def test_a_loopback_push_service_may_be_plain_http(
    hooks: Api, settings: Settings, redis: Redis
) -> None:
    """The local stack's push sandbox listens on loopback without TLS."""
    _, tracking_id = await tracked(settings, redis)
    sandbox = f"http://127.0.0.1:{free_port()}/push/{uuid.uuid4().hex}"
    resp = await hooks.post(
        PATH, json=subscribe_body(tracking_id, subscription=subscription(endpoint=sandbox))
    )
    assert resp.status == 202, await resp.text()
    [record] = await read_topic(settings, settings.events_topic, 1)
    assert pb.ShipmentEvent.FromString(record.value).push_subscribed.endpoint == sandbox


async def test_kafka_away_gets_503_with_retry_after_and_nothing_ready(
    settings: Settings, redis: Redis
) -> None:
    _, tracking_id = await tracked(settings, redis)
    down = settings.with_(kafka_bootstrap=f"127.0.0.1:{free_port()}", kafka_send_timeout_s=0.5)
    async with TestClient(TestServer(hooks_app.init_app(down))) as client:
        resp = await client.post(PATH, json=subscribe_body(tracking_id))
        assert resp.status == 503
        assert resp.headers["Retry-After"] == "5"
        assert (await resp.json())["fields"] == {"kafka": "unreachable"}
        ready = await client.get("/readyz")
        assert ready.status == 503
        assert (await ready.json())["checks"] == {"kafka": False, "redis": True}


async def test_redis_away_gets_503_with_retry_after(settings: Settings) -> None:
    no_redis = settings.with_(redis_url=f"redis://127.0.0.1:{free_port()}/0", redis_cluster=False)
    async with TestClient(TestServer(hooks_app.init_app(no_redis))) as client:
        resp = await client.post(PATH, json=subscribe_body("a" * 20))
        assert resp.status == 503
        assert resp.headers["Retry-After"] == "5"
        assert (await resp.json())["fields"] == {"redis": "unreachable"}


# -- the tracking page's origin


async def test_the_pages_origin_gets_its_preflight_answered(hooks: Api) -> None:
    resp = await hooks.options(
        PATH,
        headers={
            "Origin": PAGE_ORIGIN,
            "Access-Control-Request-Method": "DELETE",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert resp.status == 204
    assert resp.headers["Access-Control-Allow-Origin"] == PAGE_ORIGIN
    assert set(resp.headers["Access-Control-Allow-Methods"].split(", ")) == {"POST", "DELETE"}
    assert resp.headers["Access-Control-Allow-Headers"] == "content-type"
    assert int(resp.headers["Access-Control-Max-Age"]) > 0


@pytest.mark.parametrize(
    ("headers", "field"),
    [
        ({"Origin": "http://evil.test"}, "Origin"),
        (
            {"Origin": PAGE_ORIGIN, "Access-Control-Request-Method": "PUT"},
            "Access-Control-Request-Method",
        ),
        (
            {
                "Origin": PAGE_ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type, authorization",
            },
            "Access-Control-Request-Headers",
        ),
    ],
)
async def test_any_other_preflight_is_refused(
    hooks: Api, headers: dict[str, str], field: str
) -> None:
    resp = await hooks.options(PATH, headers={"Access-Control-Request-Method": "POST", **headers})
    assert resp.status == 403
    assert "Access-Control-Allow-Origin" not in resp.headers
    assert list((await resp.json())["fields"]) == [field]


async def test_the_pages_origin_may_read_the_answers_another_may_not(
    hooks: Api, settings: Settings, redis: Redis
) -> None:
    _, tracking_id = await tracked(settings, redis)
    ok = await hooks.post(PATH, json=subscribe_body(tracking_id), headers={"Origin": PAGE_ORIGIN})
    assert ok.status == 202
    assert ok.headers["Access-Control-Allow-Origin"] == PAGE_ORIGIN
    # an error too, so that the page can tell its reader why
    bad = await hooks.post(PATH, json={"tracking_id": "x"}, headers={"Origin": PAGE_ORIGIN})
    assert bad.status == 422
    assert bad.headers["Access-Control-Allow-Origin"] == PAGE_ORIGIN
    other = await hooks.post(
        PATH, json=subscribe_body(tracking_id), headers={"Origin": "http://evil.test"}
    )
    assert "Access-Control-Allow-Origin" not in other.headers
    # the other routes of hooks say nothing of CORS
    notices = await hooks.get("/healthz", headers={"Origin": PAGE_ORIGIN})
    assert "Access-Control-Allow-Origin" not in notices.headers


async def test_in_one_app_with_ingest_the_event_log_is_shared(api: Api) -> None:
    """`shipnotify dev` serves ingest and hooks in one app: one producer, one readiness."""
    ready = await api.get("/readyz")
    assert (await ready.json())["checks"] == {"kafka": True, "redis": True}
