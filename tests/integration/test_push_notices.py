# ruff: noqa: RUF001  # Cyrillic texts are meant
"""Push notices: the notifier (its real Web Push sender, pywebpush over aiohttp) against the
broker, redis-server and the push sandbox, which checks VAPID and decrypts what it takes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from shipnotify.config import Settings
from shipnotify.devstack.push_sandbox import PushSandbox
from shipnotify.model.notices import plan_for, push_addressees
from shipnotify.notifier.senders import WebPush
from shipnotify.store.notices import NoticeBook
from shipnotify.v1 import shipment_events_pb2 as pb
from tests.vapid_keys import key_pair

from .conftest import eventually, notifier_idle, read_topic, unique
from .test_notifier import fast, produce, running_notifier

TRACKING_ID = "k7m2q4xr5tn3wb6yd2hf"
SUBJECT = "mailto:ops@carrier.example"


@pytest.fixture
async def push() -> AsyncIterator[PushSandbox]:
    async with PushSandbox(retry_after_s=2).running() as sandbox:
        yield sandbox


@pytest.fixture
def keyed(settings: Settings) -> Settings:
    private, public = key_pair()
    return fast(settings).with_(
        public_url="https://trk.carrier.example",
        vapid_private_key=private,
        vapid_public_key=public,
        vapid_subject=SUBJECT,
    )


def push_jobs(
    subscription: dict[str, object],
    status: pb.Status = pb.STATUS_OUT_FOR_DELIVERY,
    *,
    locale: str = "ro-MD",
    shipment_id: str | None = None,
) -> tuple[str, list[bytes]]:
    """The jobs the tracker plans for a status of a shipment one browser subscribed to."""
    keys = subscription["keys"]
    assert isinstance(keys, dict)
    subscribed = pb.PushSubscribed(
        endpoint=str(subscription["endpoint"]),
        p256dh=keys["p256dh"],
        auth=keys["auth"],
        locale=locale,
        time_zone="Europe/Chisinau",
    )
    event = pb.ShipmentEvent(event_id=str(uuid.uuid4()), shipment_id=shipment_id or unique("push"))
    event.occurred_at.GetCurrentTime()
    event.recorded_at.GetCurrentTime()
    event.status_changed.status = status
    jobs = plan_for(event, push_addressees([subscribed]), TRACKING_ID)
    return event.shipment_id, [j.SerializeToString() for j in jobs]


async def notices(settings: Settings, redis: Redis, shipment_id: str) -> list[dict[str, object]]:
    return list(
        (await NoticeBook(redis, settings.notifications_topic).of_shipment(shipment_id)).values()
    )


async def test_a_push_is_delivered_once_encrypted_with_its_localized_payload(
    keyed: Settings, redis: Redis, push: PushSandbox
) -> None:
    subscription = push.subscribe(keyed.vapid_public_key)  # only our key may push to it
    shipment_id, jobs = push_jobs(subscription)
    async with running_notifier(keyed, [WebPush(keyed)]):
        await produce(keyed, jobs + jobs)  # a tracker that re-emitted after a crash
        await eventually(lambda: _taken(push))
        await eventually(lambda: notifier_idle(keyed, redis))  # a duplicate would be sent
    [message] = push.messages
    assert message.payload_json == {
        "title": "Coletul dvs. este în curs de livrare",
        "body": "Coletul este la curier și ar trebui să ajungă astăzi. Vă rugăm să vă asigurați"
        " că cineva îl poate primi.",
        "url": f"https://trk.carrier.example/t/{TRACKING_ID}",
        "tag": TRACKING_ID,
        "lang": "ro",
    }
    assert (message.endpoint, message.vapid_sub) == (subscription["endpoint"], SUBJECT)
    assert (message.ttl, message.urgency) == (24 * 3600, "high")
    [state] = await notices(keyed, redis, shipment_id)
    assert (state["s"], state["c"], state["n"]) == ("sent", "push", 1)


async def test_a_shipments_pushes_share_a_topic_and_no_other_shipments_do(
    keyed: Settings, push: PushSandbox
) -> None:
    subscription = push.subscribe()
    shipment_id, first = push_jobs(subscription, pb.STATUS_PICKED_UP)
    _, then = push_jobs(subscription, pb.STATUS_DELIVERED, shipment_id=shipment_id)
    _, another = push_jobs(subscription, pb.STATUS_PICKED_UP)
    async with running_notifier(keyed, [WebPush(keyed)]):
        await produce(keyed, first + then + another)
        await eventually(lambda: _taken(push, 3))
    topics = {
        title: [m.topic for m in push.messages if m.payload_json["title"] == title]
        for title in ("Coletul dvs. este pe drum", "Coletul dvs. a fost livrat")
    }
    picked_up, [delivered] = topics.values()  # picked up: one of each shipment
    assert len(set(picked_up)) == 2
    assert delivered in picked_up
    assert all(t is not None and len(t) == 32 for t in picked_up)


@pytest.mark.parametrize("status", [404, 410])
async def test_a_gone_subscription_is_unsubscribed_through_the_events_topic_not_retried(
    keyed: Settings, redis: Redis, push: PushSandbox, status: int
) -> None:
    subscription = push.subscribe()
    if status == 410:
        push.unsubscribe(str(subscription["endpoint"]))  # the user revoked the permission
    else:
        push.fail_next(1, 404)
    shipment_id, jobs = push_jobs(subscription)
    before = datetime.now(UTC)
    async with running_notifier(keyed, [WebPush(keyed)]):
        await produce(keyed, jobs)
        [record] = await read_topic(keyed, keyed.events_topic, 1)
        await eventually(lambda: notifier_idle(keyed, redis))  # a retry would be due
    assert record.key == shipment_id.encode()
    event = pb.ShipmentEvent.FromString(record.value)
    assert event.WhichOneof("body") == "push_unsubscribed"
    assert (event.shipment_id, event.push_unsubscribed.endpoint) == (
        shipment_id,
        subscription["endpoint"],
    )
    assert uuid.UUID(event.event_id).version == 4
    assert before <= event.occurred_at.ToDatetime(UTC) <= datetime.now(UTC)
    [state] = await notices(keyed, redis, shipment_id)
    assert (state["s"], state["code"], state["n"]) == ("gone", str(status), 1)
    assert push.messages == []


async def test_a_throttled_push_is_sent_again_no_sooner_than_retry_after(
    keyed: Settings, redis: Redis, push: PushSandbox
) -> None:
    subscription = push.subscribe()
    push.fail_next(1, 429)  # with Retry-After: 2; the backoff alone would wait 0.1 to 0.2 s
    shipment_id, jobs = push_jobs(subscription, pb.STATUS_IN_TRANSIT, locale="ru")
    async with running_notifier(keyed, [WebPush(keyed)]):
        started = datetime.now(UTC)
        await produce(keyed, jobs)
        await eventually(lambda: _taken(push))
        await eventually(lambda: notifier_idle(keyed, redis))
    [message] = push.messages
    assert (message.received_at - started).total_seconds() >= 2.0
    assert message.urgency == "normal"
    assert message.payload_json["title"] == "Статус посылки: В пути"
    [state] = await notices(keyed, redis, shipment_id)
    assert (state["s"], state["n"]) == ("sent", 2)


async def test_a_push_its_push_service_refuses_for_good_is_a_dead_letter_with_the_reason(
    keyed: Settings, redis: Redis, push: PushSandbox
) -> None:
    _, other_public = key_pair()
    subscription = push.subscribe(other_public)  # a subscription for another server's key
    shipment_id, jobs = push_jobs(subscription)
    async with running_notifier(keyed, [WebPush(keyed)]):
        await produce(keyed, jobs)
        [letter] = await read_topic(keyed, keyed.notifications_dead_letter_topic, 1)
        await eventually(lambda: notifier_idle(keyed, redis))
    assert letter.value == jobs[0]
    assert dict(letter.headers)["reason"] == (
        b"push 403 Forbidden: VAPID: k is not the key the subscription was made with"
    )
    [state] = await notices(keyed, redis, shipment_id)
    assert (state["s"], state["n"]) == ("dead", 1)
    assert push.messages == []


async def _taken(push: PushSandbox, messages: int = 1) -> bool:
    return len(push.messages) >= messages
