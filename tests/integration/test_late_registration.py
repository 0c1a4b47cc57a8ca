"""A tap that beats its registration: when the registration comes, each party gets one
notice of the shipment's current status (if the matrix calls for one), exactly once, also
when the registration is delivered again."""

from __future__ import annotations

import uuid
from collections import Counter

from redis.asyncio import Redis

from shipnotify.config import Settings
from shipnotify.model.notices import notification_id
from shipnotify.model.status import Status
from shipnotify.store import TrackingStore
from shipnotify.tracker.notices import plan_notices
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb
from tests.offsets import consumed, read_all

from .conftest import eventually, notifier_idle, running_tracker
from .test_dead_letters import registration_event, status_event
from .test_notifier import FakeSender, fast, running_notifier
from .test_tracker_failures import produce_events

SMS, EMAIL = pb.CHANNEL_SMS, pb.CHANNEL_EMAIL
SENDER, RECIPIENT = npb.PARTY_ROLE_SENDER, npb.PARTY_ROLE_RECIPIENT


def owed_ids(tap: pb.ShipmentEvent) -> set[str]:
    """What registration_event's contacts hear of a picked_up: the sender's email and the
    recipient's SMS, with the ids the tap's own notices would have had."""
    return {
        notification_id(tap.event_id, SENDER, "desk@shop.example", EMAIL),
        notification_id(tap.event_id, RECIPIENT, "+37369123456", SMS),
    }


async def test_a_registration_after_taps_owes_the_current_status_once(
    settings: Settings, redis: Redis
) -> None:
    settings = fast(settings)
    sid = f"late-{uuid.uuid4().hex[:8]}"
    tap = status_event(sid, Status.PICKED_UP)
    registration = registration_event(sid)
    sms, email = FakeSender(SMS), FakeSender(EMAIL)

    async def tracked() -> bool:  # every event applied, its jobs sent
        return await consumed(settings, settings.tracker_group, settings.events_topic)

    async with running_tracker(settings), running_notifier(settings, [sms, email]):
        await produce_events(settings, [tap])
        await eventually(tracked)  # applied, to no one
        await produce_events(settings, [registration])
        await eventually(tracked)
        first = await read_all(settings, settings.notifications_topic)
        await produce_events(settings, [registration])  # delivered again
        await eventually(tracked)
        jobs = await read_all(settings, settings.notifications_topic)
        await eventually(lambda: _sent(sms, email, 2))
        await eventually(lambda: notifier_idle(settings, redis))  # a second send, if any
    decoded = [npb.NotificationJob.FromString(r.value) for r in first]
    assert {j.notification_id for j in decoded} == owed_ids(tap)
    assert {(j.status, j.event_id) for j in decoded} == {(pb.STATUS_PICKED_UP, tap.event_id)}
    assert Counter(r.value for r in jobs) == Counter({r.value: 2 for r in first})  # the same
    assert [j.address for j in sms.sent] == ["+37369123456"]
    assert [j.address for j in email.sent] == ["desk@shop.example"]


async def test_no_notice_is_owed_that_the_matrix_does_not_call_for(redis: Redis) -> None:
    store = TrackingStore(redis)
    sid = f"late-{uuid.uuid4().hex[:8]}"
    await store.apply([status_event(sid, Status.IN_TRANSIT)])  # nobody hears of in_transit
    [applied] = await store.apply([registration_event(sid)])
    assert applied.owed is not None
    assert plan_notices(applied) == []


async def test_new_contacts_of_a_registered_shipment_are_owed_nothing(redis: Redis) -> None:
    store = TrackingStore(redis)
    sid = f"late-{uuid.uuid4().hex[:8]}"
    await store.apply([registration_event(sid), status_event(sid, Status.PICKED_UP)])
    [again] = await store.apply([registration_event(sid)])  # contacts changed: a new event id
    assert (again.owed, plan_notices(again)) == (None, ())


async def test_a_registration_first_owes_nothing(redis: Redis) -> None:
    store = TrackingStore(redis)
    sid = f"late-{uuid.uuid4().hex[:8]}"
    [registered] = await store.apply([registration_event(sid)])
    [tap] = await store.apply([status_event(sid, Status.PICKED_UP)])
    assert registered.owed is None
    assert {npb.NotificationJob.FromString(v).notification_id for _, v in plan_notices(tap)} == (
        owed_ids(tap.event)
    )


async def _sent(sms: FakeSender, email: FakeSender, count: int) -> bool:
    return len(sms.sent) + len(email.sent) >= count
