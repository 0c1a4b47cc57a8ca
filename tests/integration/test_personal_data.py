"""Personal data has a lifetime: a shipment that never ends expires; the opt-out list keeps
no phone numbers; the order system can erase a shipment's contacts, which cancels the notices
not yet sent and keeps the anonymous timeline."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from shipnotify.config import Settings
from shipnotify.model.status import Status
from shipnotify.notifier.redrive import redrive
from shipnotify.store import TrackingStore
from shipnotify.store.keys import due_key, notices_key, opt_out_key, quiet_key, shipment_keys
from shipnotify.store.notices import NoticeBook
from shipnotify.v1 import notifications_pb2 as npb

from .conftest import api_key, eventually, running_tracker, unique
from .test_dead_letters import produce, registration_event, status_event
from .test_notifications import Stack, running_notifier, stack, until
from .test_notifier import SMS_META, jobs_for
from .test_tracker_failures import produce_events

__all__ = ["stack"]  # the fixture
DAY = 86400


async def ttls(redis: Redis, sid: str) -> dict[str, int]:
    state, timeline, parties, *_ = shipment_keys(sid)
    names = {"state": state, "timeline": timeline, "parties": parties}
    return {name: await redis.ttl(key) for name, key in names.items()}


def about(days: float) -> range:
    return range(int(days * DAY) - 60, int(days * DAY) + 1)


async def test_a_shipment_that_never_ends_expires_after_stale_days(
    settings: Settings, redis: Redis
) -> None:
    sid = f"stale-{uuid.uuid4().hex[:8]}"
    settings = settings.with_(stale_days=3, retention_days=2)
    async with running_tracker(settings):
        store = TrackingStore(redis)
        await produce_events(
            settings, [registration_event(sid), status_event(sid, Status.PICKED_UP)]
        )
        await eventually(lambda: _status(store, sid, "picked_up"))
    assert all(t in about(3) for t in (await ttls(redis, sid)).values()), await ttls(redis, sid)


async def test_each_key_of_a_shipment_expires_and_contacts_never_outlive_it(
    redis: Redis,
) -> None:
    store = TrackingStore(redis, retention_days=2, stale_days=3)
    book = NoticeBook(redis, "jobs-ttl")
    sid = f"ttl-{uuid.uuid4().hex[:8]}"
    await store.apply([registration_event(sid), status_event(sid, Status.PICKED_UP)])
    nid = str(uuid.uuid4())
    await book.update(sid, nid, "sent", SMS_META)  # a notice final before the end
    assert await redis.ttl(notices_key(sid)) in about(3)
    await store.apply([status_event(sid, Status.DELIVERED)])  # the end: retention from now
    assert all(t in about(2) for t in (await ttls(redis, sid)).values())
    assert await redis.ttl(notices_key(sid)) in about(2)
    late = registration_event(sid)  # contacts sent again after the end go with the rest
    await store.apply([late])
    assert (await ttls(redis, sid))["parties"] in about(2)


async def test_the_opt_out_list_keeps_no_phone_number(stack: Stack, redis: Redis) -> None:
    phone = "+40744000222"  # opted out under the test's own secret (the settings fixture)
    before = {k async for k in redis.scan_iter(match=opt_out_key("*"))}
    url = f"{stack.settings.webhook_url}/v1/twilio/inbound"
    status, _ = await stack.sms.send_inbound(url, phone, "+15005550006", "STOP")
    assert status == 200
    assert await stack.book.opted_out(phone)
    [stored] = {k async for k in redis.scan_iter(match=opt_out_key("*"))} - before
    assert phone[1:].encode() not in stored
    other = NoticeBook(redis, "any", opt_out_secret=stack.settings.opt_out_secret + "x")
    assert not await other.opted_out(phone)  # keyed: no key, no lookup
    await stack.sms.send_inbound(url, phone, "+15005550006", "START")
    assert {k async for k in redis.scan_iter(match=opt_out_key("*"))} == before


async def test_opt_outs_stored_by_number_are_moved_to_their_hash(
    stack: Stack, redis: Redis
) -> None:
    phone = f"+4074{uuid.uuid4().int % 10**7:07d}"  # its own: this key is the number itself
    await redis.set(opt_out_key(phone), "1")  # as an earlier version stored it
    async with running_notifier(stack.settings):
        await eventually(lambda: stack.book.opted_out(phone))
    assert not await redis.exists(opt_out_key(phone))
    await stack.book.opt_in(phone)


async def test_erasing_contacts_cancels_what_is_not_sent_and_keeps_the_timeline(
    stack: Stack, redis: Redis
) -> None:
    now = datetime.now(UTC)
    # night now in UTC (the sender's zone) and in Chisinau (the recipient's, UTC+2 or +3)
    window = f"{(now - timedelta(hours=1)):%H:%M}-{(now + timedelta(hours=5)):%H:%M}"
    night = stack.settings.with_(quiet_hours=window)  # every SMS waits for the morning
    sid = f"erase-{uuid.uuid4().hex[:8]}"
    async with running_tracker(night), running_notifier(night):
        tid = await stack.register(sid)
        await stack.tap(sid, "picked_up")
        await until(lambda: len(stack.mail_to("ana@example.com")) == 1)  # email goes at night
        await eventually(lambda: _states(stack.book, sid, "deferred", 2))  # both SMS wait
        assert await redis.exists(quiet_key(sid))

        resp = await stack.api.delete(
            f"/v1/shipments/{sid}/contacts", headers=api_key(stack.settings)
        )
        assert resp.status == 202, await resp.text()
        assert (await resp.json())["shipment_id"] == sid
        await eventually(lambda: _gone(redis, shipment_keys(sid)[2]))
        assert not await redis.exists(quiet_key(sid))  # the numbers waiting for the morning

        # Morning comes: the SMS come due, and none goes.
        due = due_key(night.notifications_topic)
        waiting = [m for m in await redis.zrange(due, 0, -1) if isinstance(m, bytes)]
        await redis.zadd(due, dict.fromkeys(waiting, 0))
        await eventually(lambda: _states(stack.book, sid, "cancelled", 2))
        await stack.tap(sid, "out_for_delivery")  # no one to tell any more
        await eventually(stack.settled)  # applied, and any notice it made finished
    assert stack.sms.messages == []
    assert len(stack.mail_to("ana@example.com")) == 1
    resp = await stack.api.get(f"/v1/track/{tid}")
    shown = await resp.json()
    assert (shown["status"], [e["status"] for e in shown["timeline"]]) == (
        "out_for_delivery",
        ["registered", "picked_up", "out_for_delivery"],
    )


async def test_redrive_never_sends_a_notice_of_erased_contacts(
    settings: Settings, redis: Redis
) -> None:
    sid = f"erase-{uuid.uuid4().hex[:8]}"
    [raw, *_] = jobs_for(Status.CONFIRMED, shipment_id=sid, minutes_ago=5)  # given up, say
    await produce(settings, settings.notifications_dead_letter_topic, [(sid.encode(), raw)])
    erasure = registration_event(sid)
    erasure.ClearField("registered")
    erasure.contacts_erased.SetInParent()
    erasure.recorded_at.GetCurrentTime()
    await TrackingStore(redis).apply([registration_event(sid), erasure])

    done = await redrive(settings, idle_s=1.0)

    assert (done.jobs, done.cancelled) == (0, 1)
    job = npb.NotificationJob.FromString(raw)
    states = await NoticeBook(redis, settings.notifications_topic).of_shipment(sid)
    assert states[job.notification_id]["s"] == "cancelled"


async def test_an_erasure_needs_the_api_key(stack: Stack) -> None:
    resp = await stack.api.delete(f"/v1/shipments/{unique('erase')}/contacts")
    assert resp.status == 401
    resp = await stack.api.delete("/v1/shipments/bad id/contacts", headers=api_key(stack.settings))
    assert resp.status == 422
    assert "shipment_id" in (await resp.json())["fields"]


async def _status(store: TrackingStore, sid: str, status: str) -> bool:
    shipment = await store.shipment(sid)
    return shipment is not None and shipment.status.value == status


async def _states(book: NoticeBook, sid: str, state: str, count: int) -> bool:
    states = await book.of_shipment(sid)
    return sum(s["s"] == state for s in states.values()) == count  # type: ignore[no-any-return]


async def _gone(redis: Redis, key: str) -> bool:
    return not await redis.exists(key)
