"""The console's shipments on Apache Kafka and redis-server: the tracker lists an account's
shipments as it applies their events (and moves them between the status lists), the same
after a redelivery, and `shipnotify rebuild` lists them again; the page's filters, search,
pages and CSV; a shipment's page. A team member's side is in test_console_team.py."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import datetime, timedelta

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from shipnotify.config import Settings
from shipnotify.model.status import Status
from shipnotify.store import TrackingStore
from shipnotify.store.keys import shipments_key
from shipnotify.store.shipment_list import Listing, ShipmentList
from shipnotify.tracker.rebuild import rebuild
from shipnotify.v1 import shipment_events_pb2 as pb
from tests.offsets import consumed

from .conftest import Api, eventually, running_tracker, unique
from .test_console import ZONE, console, sign_in
from .test_dead_letters import produce

__all__ = ["console"]  # the fixture


def registered(sid: str, account: str, at_ms: int) -> pb.ShipmentEvent:
    event = pb.ShipmentEvent(event_id=str(uuid.uuid4()), shipment_id=sid)
    event.occurred_at.FromMilliseconds(at_ms)
    event.recorded_at.FromMilliseconds(at_ms)
    event.registered.tracking_id = "T" + uuid.uuid4().hex[:19]
    event.registered.account_id = account
    event.registered.depot = "north"
    event.registered.sender.contacts.add(
        name="Shop", email="desk@shop.example", channels=[pb.CHANNEL_EMAIL]
    )
    event.registered.recipient.contacts.add(name="Ion", phone="+37369123456", locale="ro")
    return event


def tapped(sid: str, status: Status, at_ms: int) -> pb.ShipmentEvent:
    event = pb.ShipmentEvent(
        event_id=str(uuid.uuid4()), shipment_id=sid, source=pb.SOURCE_COURIER_APP
    )
    event.occurred_at.FromMilliseconds(at_ms)
    event.recorded_at.FromMilliseconds(at_ms)
    event.status_changed.status = status.proto
    return event


def _now_ms(minutes_ago: float = 0) -> int:
    return int((datetime.now(ZONE) - timedelta(minutes=minutes_ago)).timestamp() * 1000)


def _account() -> str:
    return f"acct_{uuid.uuid4().hex[:12]}"


async def listed_ids(redis: Redis, account: str, status: str = "") -> list[str]:
    """An account's shipments in its list of a status, or of every status, newest first."""
    found: list[tuple[bytes, float]] = []
    for s in [status] if status else [s.value for s in Status]:
        found += await redis.zrange(shipments_key(account, s), 0, -1, withscores=True)  # type: ignore[arg-type]
    return [m.decode() for m, _ in sorted(found, key=lambda f: (f[1], f[0]), reverse=True)]


async def _lists(redis: Redis, account: str) -> dict[str, list[str]]:
    """An account's lists that hold something: "" every status, else by status."""
    found = {"": await listed_ids(redis, account)}
    for status in Status:
        if got := await listed_ids(redis, account, status.value):
            found[status.value] = got
    return found


async def test_the_tracker_lists_an_accounts_shipments_and_moves_them_by_status(
    settings: Settings, redis: Redis
) -> None:
    mine, theirs = _account(), _account()
    a, b, c, own = (unique("list") for _ in range(4))
    t0 = _now_ms(minutes_ago=30)
    first = [
        registered(a, mine, t0),
        registered(b, mine, t0 + 1000),
        registered(c, theirs, t0 + 2000),
        registered(own, "", t0 + 3000),
        tapped(a, Status.PICKED_UP, t0 + 5000),
    ]
    then = [tapped(a, Status.DELIVERED, t0 + 9000), tapped(b, Status.IN_TRANSIT, t0 + 9000)]
    async with running_tracker(settings):
        await produce(
            settings,
            settings.events_topic,
            [(e.shipment_id.encode(), e.SerializeToString()) for e in first],
        )
        await eventually(lambda: consumed(settings, settings.tracker_group, settings.events_topic))
        assert await _lists(redis, mine) == {"": [b, a], "registered": [b], "picked_up": [a]}
        await produce(
            settings,
            settings.events_topic,
            [(e.shipment_id.encode(), e.SerializeToString()) for e in then],
        )
        await eventually(lambda: consumed(settings, settings.tracker_group, settings.events_topic))
    after = {"": [b, a], "delivered": [a], "in_transit": [b]}
    assert await _lists(redis, mine) == after
    assert await _lists(redis, theirs) == {"": [c], "registered": [c]}
    every = await listed_ids(redis, "")
    assert {a, b, c, own} <= set(every)
    assert await redis.zscore(shipments_key("", "registered"), own) == t0 + 3000
    assert await redis.zscore(shipments_key(mine, "delivered"), a) == t0
    assert await ShipmentList(redis, keep_days=90).listing(own) == Listing(
        "", t0 + 3000, "registered"
    )

    # Redis lost everything: the replay lists them again, as they were
    if isinstance(redis, RedisCluster):
        await redis.flushall(target_nodes=RedisCluster.PRIMARIES)
    else:
        await redis.flushall()
    await rebuild(settings)
    assert await _lists(redis, mine) == after
    assert await _lists(redis, theirs) == {"": [c], "registered": [c]}


async def test_a_redelivered_batch_ends_where_the_first_did(
    settings: Settings, redis: Redis
) -> None:
    mine = _account()
    sid = unique("again")
    t0 = _now_ms(minutes_ago=10)
    store = TrackingStore(redis, retention_days=settings.retention_days)
    first = [registered(sid, mine, t0), tapped(sid, Status.PICKED_UP, t0 + 1000)]
    second = [tapped(sid, Status.OUT_FOR_DELIVERY, t0 + 2000)]
    await store.apply(first)
    await store.apply(second)
    await store.apply(first)  # the first batch again, after the second (a rebalance)
    assert await _lists(redis, mine) == {"": [sid], "out_for_delivery": [sid]}
    await store.apply(second)
    assert await _lists(redis, mine) == {"": [sid], "out_for_delivery": [sid]}
    # taps before the registration list nothing; the registration lists the status it finds
    late = unique("late")
    await store.apply([tapped(late, Status.PICKED_UP, t0 + 1000)])
    assert late not in await listed_ids(redis, "")
    await store.apply([registered(late, mine, t0)])
    assert (await _lists(redis, mine))["picked_up"] == [late]


async def _page(console: Api, query: str) -> tuple[str, list[str], str]:
    """The page's html, its rows' shipment ids and its next page's link ("": none)."""
    got = await console.get(f"/console/shipments?{query}")
    assert got.status == 200, await got.text()
    html = await got.text()
    ids = re.findall(r'data-testid="shipment-row" data-shipment="([^"]+)"', html)
    more = re.search(r'<a href="([^"]+)" data-testid="next-page"', html)
    return html, ids, more.group(1).replace("&amp;", "&") if more else ""


async def _csv(console: Api, query: str) -> list[dict[str, str]]:
    got = await console.get(f"/console/shipments?{query}&csv=1")
    assert got.status == 200
    assert got.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in got.headers["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(await got.text())))


async def test_the_page_filters_searches_pages_and_downloads(
    console: Api, settings: Settings, redis: Redis
) -> None:
    mine, theirs = _account(), _account()
    store = TrackingStore(redis, retention_days=settings.retention_days)
    today = datetime.now(ZONE).replace(hour=9, minute=0, second=0, microsecond=0)
    old_day = today - timedelta(days=20)
    # 120 registered today, 5 of them in one millisecond (a page may end among them); 3
    # twenty days ago, delivered; 1 of another account
    base = int(today.timestamp() * 1000)
    sids = [f"s{n:03d}-{uuid.uuid4().hex[:6]}" for n in range(120)]
    events = [
        registered(sid, mine, base + (45 if 45 <= n <= 49 else n)) for n, sid in enumerate(sids)
    ]
    olds = [unique("old") for _ in range(3)]
    for n, sid in enumerate(olds):
        at = int(old_day.timestamp() * 1000) + n
        events += [registered(sid, mine, at), tapped(sid, Status.DELIVERED, at + 60_000)]
    other = unique("other")
    events.append(registered(other, theirs, base))
    await store.apply(events)
    score = {sid: base + (45 if 45 <= n <= 49 else n) for n, sid in enumerate(sids)}
    # newest first; those of one millisecond in reverse order of id, as Redis keeps them
    by_score = sorted(sids, key=lambda s: (score[s], s), reverse=True)
    await sign_in(console)

    # every page of the account: 50, 50, 20 and then the older ones, none twice
    query = f"lang=en&account={mine}"
    html, shown, more = await _page(console, query)
    assert len(shown) == 50
    assert more
    assert 'data-testid="nav-shipments" aria-current="page"' in html
    seen = list(shown)
    while more:
        _, shown, more = await _page(console, more.split("?", 1)[1])
        seen += shown
    assert seen == by_score + olds[::-1]

    # by status, by days, by search
    _, shown, more = await _page(console, f"{query}&status=delivered")
    assert (shown, more) == (olds[::-1], "")
    day = old_day.date().isoformat()
    _, shown, _ = await _page(console, f"{query}&from={day}&to={day}")
    assert shown == olds[::-1]
    _, shown, _ = await _page(console, f"{query}&status=registered&to={day}")
    assert shown == []
    tracking = events[7].registered.tracking_id
    html, shown, _ = await _page(console, f"{query}&q={tracking}")
    assert shown == [sids[7]]
    assert "Registered" in html
    assert tracking in html
    _, shown, _ = await _page(console, f"{query}&q={sids[9]}")
    assert shown == [sids[9]]
    _, shown, _ = await _page(console, f"{query}&q={other}")  # another account's, asked by id
    assert shown == []
    _, shown, _ = await _page(console, f"lang=en&q={other}")  # every account's: the operator's
    assert shown == [other]
    html, shown, _ = await _page(console, f"{query}&status=lost&from=2026-13-01")
    assert 'data-testid="problem-status"' in html
    assert 'data-testid="problem-from"' in html
    assert len(shown) == 50  # the bad filters left out

    # the CSV: the whole filtered list, newest first
    rows = await _csv(console, query)
    assert [r["shipment_id"] for r in rows] == seen
    assert {r["account"] for r in rows} == {mine}
    assert rows[0]["tracking_id"] == next(
        e.registered.tracking_id for e in events if e.shipment_id == by_score[0]
    )
    assert rows[0]["registered_at"].startswith(today.date().isoformat())
    delivered = await _csv(console, f"{query}&status=delivered")
    assert [(r["shipment_id"], r["status"]) for r in delivered] == [
        (s, "delivered") for s in olds[::-1]
    ]

    # a shipment's page
    page = await console.get(f"/console/shipments/{olds[0]}?lang=ro")
    assert page.status == 200
    html = await page.text()
    assert "Livrat" in html
    assert html.count('data-testid="step"') == 2
    assert f"/console/notices?lang=ro&amp;shipment={olds[0]}" in html
    assert "desk@shop.example" not in html
    assert "+37369123456" not in html
    assert "E-mail" in html
    assert "SMS" in html
    assert mine in html
    assert (await console.get("/console/shipments/no-such-one")).status == 404


async def test_the_page_speaks_russian_and_romanian(console: Api, redis: Redis) -> None:
    mine = _account()
    sid = unique("lang")
    await TrackingStore(redis).apply([registered(sid, mine, _now_ms())])
    await sign_in(console)
    for lang, words in (("ru", ("Отправления", "Зарегистрировано")), ("ro", ("Expedieri",))):
        html = await (await console.get(f"/console/shipments?lang={lang}&account={mine}")).text()
        assert all(w in html for w in words), lang
        assert sid in html
