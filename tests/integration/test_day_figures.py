"""The per-day shipment and notice figures on redis-server: a tracker applying events counts
each shipment once (registered on its registration's day, delivered and covered on its
delivery's, in the carrier's time zone, in its account's figures too), a late courier tap
covers a delivery, a redelivered event changes nothing and `rebuild` restores them; a
notifier sending through the sandboxes counts each notice once by channel, with the status
notices' latency, and hooks the SMS delivery receipts, both through the feedback topic, from
which `rebuild` restores them too."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from time import time as time_now
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from shipnotify.config import Settings
from shipnotify.model import day_figures as f
from shipnotify.model import feedback_events
from shipnotify.model.status import Status
from shipnotify.store.day_figures import DayFigures, NoticeDays, Wanted
from shipnotify.store.keys import figure_parts_key, owner_key
from shipnotify.tracker.rebuild import rebuild
from shipnotify.tracker.service import tracking_store
from shipnotify.v1 import shipment_events_pb2 as pb
from tests.offsets import consumed

from .conftest import eventually, running_tracker, unique
from .test_dead_letters import produce, registration_event, status_event
from .test_notifications import RECIPIENT_PHONE, Stack, running_notifier, stack, until

__all__ = ["stack"]  # the notifications' stack: ingest, hooks, the SMS and SMTP sandboxes

ZONE = ZoneInfo("Europe/Chisinau")


def days_ago_at(days: int, hour: int, minute: int = 0) -> datetime:
    day = datetime.now(ZONE).date() - timedelta(days=days)
    return datetime.combine(day, time(hour, minute), ZONE)


def event_at(event: pb.ShipmentEvent, at: datetime, source: int) -> pb.ShipmentEvent:
    event.occurred_at.FromDatetime(at)
    event.recorded_at.FromDatetime(at + timedelta(seconds=2))
    event.source = source  # type: ignore[assignment]
    return event


def shipment(sid: str, account: str, registered: datetime) -> pb.ShipmentEvent:
    event = event_at(registration_event(sid), registered, pb.SOURCE_ORDER_SYSTEM)
    event.registered.account_id = account
    return event


def tapped(sid: str, status: Status, at: datetime, source: int) -> pb.ShipmentEvent:
    return event_at(status_event(sid, status), at, source)


async def counts(redis: Redis, day: date, cut: str, account: str) -> dict[str, int]:
    [found] = await DayFigures(redis, ZONE).read([Wanted(day, day, cut, account)])
    return {k: v for k, v in found.items() if v}


async def test_a_shipment_counts_once_and_a_late_courier_tap_covers_its_delivery(
    settings: Settings, redis: Redis
) -> None:
    settings = settings.with_(time_zone=ZONE.key)
    store = tracking_store(settings, redis)
    account, sid = f"acct_{uuid.uuid4().hex[:12]}", unique("fig")
    registered, delivered = days_ago_at(3, 23, 30), days_ago_at(2, 15)  # 21:30 UTC: still day 3
    everyone = await counts(redis, delivered.date(), f.SHIPMENTS, "")
    first = [
        shipment(sid, account, registered),
        tapped(sid, Status.DELIVERED, delivered, pb.SOURCE_ORDER_SYSTEM),
    ]
    await store.apply(first)
    await store.apply(first)  # redelivered: nothing changes
    assert await counts(redis, registered.date(), f.SHIPMENTS, account) == {"registered": 1}
    assert await counts(redis, delivered.date(), f.SHIPMENTS, account) == {"delivered": 1}
    # the courier's tap from the app's offline queue, uploaded after the delivery
    late = tapped(sid, Status.PICKED_UP, delivered - timedelta(hours=5), pb.SOURCE_COURIER_APP)
    await store.apply([late])
    await store.apply([late])
    assert await counts(redis, delivered.date(), f.SHIPMENTS, account) == {
        "delivered": 1,
        "covered": 1,
    }
    # every shipment's figures took the same, once
    after = await counts(redis, delivered.date(), f.SHIPMENTS, "")
    assert after.get("delivered", 0) == everyone.get("delivered", 0) + 1
    assert after.get("covered", 0) == everyone.get("covered", 0) + 1
    # the two days read as one period (a period reads the days in it, or their month less
    # the days out)
    [period] = await DayFigures(redis, ZONE).read(
        [Wanted(registered.date(), delivered.date(), f.SHIPMENTS, account)]
    )
    assert {k: v for k, v in period.items() if v} == {"registered": 1, "delivered": 1, "covered": 1}
    assert f.coverage(period).percent == 100.0
    # every part of the day kept as long: a registration on the delivery's day leaves the
    # day's parts as long as the delivery's may change (3 days after its day)
    await store.apply([shipment(unique("fig"), account, delivered)])
    kept_ms = await redis.pttl(figure_parts_key(delivered.date().isoformat(), f.SHIPMENTS))
    until = datetime.combine(delivered.date() + timedelta(days=4), time(), ZONE)
    assert abs(kept_ms - (until.timestamp() - time_now()) * 1000) < 60_000


async def test_a_tap_after_the_delivery_or_by_another_source_covers_nothing(
    settings: Settings, redis: Redis
) -> None:
    store = tracking_store(settings.with_(time_zone=ZONE.key), redis)
    account = f"acct_{uuid.uuid4().hex[:12]}"
    delivered = days_ago_at(4, 12)
    for sid, tap, source in (
        (unique("fig"), delivered + timedelta(minutes=5), pb.SOURCE_COURIER_APP),
        (unique("fig"), delivered - timedelta(hours=1), pb.SOURCE_ORDER_SYSTEM),
    ):
        await store.apply(
            [
                shipment(sid, account, delivered - timedelta(hours=3)),
                tapped(sid, Status.DELIVERED, delivered, pb.SOURCE_COURIER_APP),
                tapped(sid, Status.IN_TRANSIT, tap, source),
            ]
        )
    assert await counts(redis, delivered.date(), f.SHIPMENTS, account) == {
        "registered": 2,
        "delivered": 2,
    }


async def test_a_courier_tap_after_the_days_parts_are_gone_counts_nothing_twice(
    settings: Settings, redis: Redis
) -> None:
    """A day's parts are kept a few days: a tap the app uploads after that covers nothing,
    and never counts its delivery again."""
    store = tracking_store(settings.with_(time_zone=ZONE.key), redis)
    account, sid = f"acct_{uuid.uuid4().hex[:12]}", unique("fig")
    delivered = days_ago_at(9, 12)
    await store.apply(
        [
            shipment(sid, account, delivered - timedelta(hours=3)),
            tapped(sid, Status.DELIVERED, delivered, pb.SOURCE_ORDER_SYSTEM),
        ]
    )
    await redis.delete(figure_parts_key(delivered.date().isoformat(), f.SHIPMENTS))  # expired
    late = tapped(sid, Status.PICKED_UP, delivered - timedelta(hours=2), pb.SOURCE_COURIER_APP)
    await store.apply([late])
    assert await counts(redis, delivered.date(), f.SHIPMENTS, account) == {
        "registered": 1,
        "delivered": 1,
    }


async def test_a_tracker_fills_the_shipment_figures_and_rebuild_restores_them(
    settings: Settings, redis: Redis
) -> None:
    settings = settings.with_(time_zone=ZONE.key)
    account, sid = f"acct_{uuid.uuid4().hex[:12]}", unique("fig")
    at = days_ago_at(1, 10)
    events = [
        shipment(sid, account, at - timedelta(hours=4)),
        tapped(sid, Status.PICKED_UP, at - timedelta(hours=2), pb.SOURCE_COURIER_APP),
        tapped(sid, Status.DELIVERED, at, pb.SOURCE_COURIER_APP),
    ]
    records = [(sid.encode(), e.SerializeToString()) for e in events]
    async with running_tracker(settings):
        await produce(settings, settings.events_topic, records)
        await produce(settings, settings.events_topic, records[1:])  # delivered twice
        await eventually(lambda: consumed(settings, settings.tracker_group, settings.events_topic))
    expected = {"registered": 1, "delivered": 1, "covered": 1}
    assert await counts(redis, at.date(), f.SHIPMENTS, account) == expected
    await rebuild(settings)  # onto a Redis that has them: changes nothing
    assert await counts(redis, at.date(), f.SHIPMENTS, account) == expected
    await flushall(redis)
    assert await counts(redis, at.date(), f.SHIPMENTS, account) == {}
    await rebuild(settings)
    assert await counts(redis, at.date(), f.SHIPMENTS, account) == expected


async def test_a_notifier_counts_each_notice_once_by_channel_with_its_receipts(
    stack: Stack,
) -> None:
    settings = stack.settings.with_(time_zone=ZONE.key)
    account, sid = f"acct_{uuid.uuid4().hex[:12]}", unique("fig")
    await stack.redis.set(owner_key(sid), account)  # as ingest does for an account's key
    stack.sms.opt_out(RECIPIENT_PHONE)  # the recipient's SMS fails for good
    async with running_tracker(settings), running_notifier(settings):
        await stack.register(sid)
        await stack.tap(sid, "picked_up")
        await until(lambda: len(stack.sms.messages) == 1 and len(stack.mail.messages) == 1)
        await eventually(stack.settled)
        await stack.sms.settled()

        async def receipted() -> bool:
            found = await counts(stack.redis, datetime.now(ZONE).date(), f.NOTICES, account)
            return found.get(f.RECEIPTS, 0) == 1

        await eventually(receipted)  # the sender's SMS receipt, through hooks
    today = datetime.now(ZONE).date()
    found = await counts(stack.redis, today, f.NOTICES, account)
    latency = {k: v for k, v in found.items() if k.startswith(f.LATENCY)}
    assert {k: v for k, v in found.items() if k not in latency} == {
        "sms|sent": 1,
        "sms|failed": 1,
        "email|sent": 1,
        "sms|receipts": 1,
        "sms|delivered": 1,
    }
    assert sum(latency.values()) == 2  # the two status notices that went
    p95 = f.quantile(f.latencies(found), 0.95)
    assert p95 is not None
    assert p95 < 60_000
    # told again (a notifier that died before the notice was final, a receipt redelivered):
    # counted once
    states = await stack.book.of_shipment(sid)
    [email] = [nid for nid, s in states.items() if s["c"] == "email"]
    [sms] = [nid for nid, s in states.items() if s["c"] == "sms" and s["s"] == "delivered"]
    planned, now = int(datetime.now(ZONE).timestamp() * 1000), datetime.now(UTC)
    told = feedback_events.settled(
        sid,
        email,
        channel=pb.CHANNEL_EMAIL,
        sent=True,
        planned_ms=planned,
        tap_to_notice_ms=100,
        account="",
        now=now,
    )
    receipt = feedback_events.receipt(sid, sms, planned_ms=planned, delivered=True, now=now)
    await NoticeDays(stack.redis, ZONE).fold([told, receipt])
    assert without_latency(await counts(stack.redis, today, f.NOTICES, account)) == without_latency(
        found
    )
    # the outcomes are on the feedback topic: a Redis that lost them gets them back
    await eventually(lambda: consumed(settings, settings.feedback_group, settings.feedback_topic))
    await flushall(stack.redis)
    await stack.redis.set(owner_key(sid), account)  # ingest's, from the account's key
    await rebuild(settings)
    assert await counts(stack.redis, today, f.NOTICES, account) == found
    await rebuild(settings)  # onto the figures that have them: changes nothing
    assert await counts(stack.redis, today, f.NOTICES, account) == found


def without_latency(found: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in found.items() if not k.startswith(f.LATENCY)}


async def flushall(redis: Redis) -> None:
    if isinstance(redis, RedisCluster):
        await redis.flushall(target_nodes=RedisCluster.PRIMARIES)
    else:
        await redis.flushall()


async def test_a_notice_told_again_after_its_days_parts_are_gone_counts_once(
    redis: Redis,
) -> None:
    """Nothing says whether a notice's outcome is a duplicate (a rebuild replays the topic
    onto figures that may have it): where its day's parts are gone, it writes only into a
    day that counts nothing yet, as after a Redis lost its figures."""
    account, sid = f"acct_{uuid.uuid4().hex[:12]}", unique("fig")
    await redis.set(owner_key(sid), account)
    day = days_ago_at(300 + uuid.uuid4().int % 60, 12)  # a day no other test counts notices on
    told = feedback_events.settled(
        sid,
        str(uuid.uuid4()),
        channel=pb.CHANNEL_SMS,
        sent=True,
        planned_ms=int(day.timestamp() * 1000),
        tap_to_notice_ms=None,
        account="",
        now=datetime.now(UTC),
    )
    figures = NoticeDays(redis, ZONE)
    await figures.fold([told])  # into a day with no figures yet: counted
    assert await counts(redis, day.date(), f.NOTICES, account) == {"sms|sent": 1}
    await redis.delete(figure_parts_key(day.date().isoformat(), f.NOTICES))  # expired
    await figures.fold([told])
    assert await counts(redis, day.date(), f.NOTICES, account) == {"sms|sent": 1}
