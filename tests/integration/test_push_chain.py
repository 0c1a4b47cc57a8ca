"""A browser subscribed on the tracking page hears of the shipment by push, the whole way:
hooks takes the subscription onto the events topic, the tracker keeps it and plans a push
for the next status, the notifier sends it with pywebpush to the push sandbox, which checks
VAPID and decrypts it; once the sandbox says the subscription is gone, the tracker forgets
it and the next status pushes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from shipnotify.config import Settings
from shipnotify.devstack.push_sandbox import PushSandbox
from shipnotify.notifier.senders import WebPush
from shipnotify.store.keys import push_key
from shipnotify.store.notices import NoticeBook
from tests.vapid_keys import key_pair

from .conftest import Api, courier, eventually, register, running_tracker, settled, tap, unique
from .test_notifier import fast, running_notifier


@pytest.fixture
async def push() -> AsyncIterator[PushSandbox]:
    async with PushSandbox().running() as sandbox:
        yield sandbox


async def test_a_subscribed_browser_follows_the_shipment_until_it_is_gone(
    api: Api, settings: Settings, redis: Redis, push: PushSandbox
) -> None:
    private, public = key_pair()
    settings = fast(settings).with_(
        vapid_private_key=private, vapid_public_key=public, vapid_subject="mailto:ops@c.example"
    )
    sid = unique("chain")
    subscription = push.subscribe(public)
    async with running_tracker(settings), running_notifier(settings, [WebPush(settings)]):
        tracking_id = await register(api, settings, sid)

        async def subscribed() -> bool:
            resp = await api.post(
                "/v1/push-subscriptions",
                json={
                    "tracking_id": tracking_id,
                    "subscription": {**subscription, "expirationTime": None},
                    "locale": "ru",
                    "time_zone": "Europe/Chisinau",
                },
            )
            return resp.status == 202  # 404 until the registration is applied

        await eventually(subscribed)
        await eventually(lambda: redis.exists(push_key(sid)))
        resp = await api.post(
            f"/v1/shipments/{sid}/events", json=tap("out_for_delivery"), headers=courier(settings)
        )
        assert resp.status == 202
        await eventually(lambda: _pushes(push, 1))
        push.unsubscribe(str(subscription["endpoint"]))  # the reader revoked the permission
        attempt = tap("delivery_attempted", failure="recipient_absent")
        await api.post(f"/v1/shipments/{sid}/events", json=attempt, headers=courier(settings))
        await eventually(lambda: _gone(redis, sid))
        await api.post(  # after the tracker forgot the browser: nothing is planned for it
            f"/v1/shipments/{sid}/events", json=tap("out_for_delivery"), headers=courier(settings)
        )
        await eventually(lambda: settled(settings, redis))
        book = await NoticeBook(redis, settings.notifications_topic).of_shipment(sid)
    [message] = push.messages
    assert message.payload_json is not None
    assert message.payload_json["lang"] == "ru"
    assert message.payload_json["url"].endswith(f"/t/{tracking_id}")
    assert message.payload_json["title"] == "Посылка едет к вам"
    pushes = sorted(str(n["s"]) for n in book.values() if n["c"] == "push")
    assert pushes == ["gone", "sent"]  # and none for the status after it was gone


async def _pushes(push: PushSandbox, n: int) -> bool:
    return len(push.messages) >= n


async def _gone(redis: Redis, sid: str) -> bool:
    return not await redis.exists(push_key(sid))
