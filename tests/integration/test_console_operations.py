"""The overview's shipment and notice figures on redis-server: shipments today, coverage
against the period before, tap-to-notice p50 and p95, notices by channel and SMS delivered by
their receipts, of the account chosen, in English and Russian; the same as Prometheus gauges."""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, date, datetime, time, timedelta

from prometheus_client import REGISTRY
from redis.asyncio import Redis

from shipnotify.config import Settings
from shipnotify.console import kpis
from shipnotify.model import feedback_events
from shipnotify.model.status import Status
from shipnotify.store.day_figures import DayFigures, NoticeDays
from shipnotify.store.keys import owner_key
from shipnotify.tracker.service import tracking_store
from shipnotify.v1 import shipment_events_pb2 as pb

from .conftest import Api, unique
from .test_console import ZONE, console, sign_in
from .test_day_figures import shipment, tapped

__all__ = ["console"]


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), ZONE)


async def shipments(
    settings: Settings, redis: Redis, account: str, day: date, *, delivered: int, covered: int
) -> None:
    """`delivered` shipments of an account delivered on `day`, `covered` of them tapped by
    their courier before; applied as the tracker applies them."""
    store = tracking_store(settings.with_(time_zone=ZONE.key), redis)
    for i in range(delivered):
        sid = unique("ops")
        events = [shipment(sid, account, at(day, 8))]
        if i < covered:
            events.append(tapped(sid, Status.PICKED_UP, at(day, 9), pb.SOURCE_COURIER_APP))
        events.append(tapped(sid, Status.DELIVERED, at(day, 15), pb.SOURCE_COURIER_APP))
        await store.apply(events)


async def notices(redis: Redis, account: str, day: date) -> None:
    """An account's notices planned on `day`: 3 SMS sent (2 delivered by their receipts, 1
    not), an email sent, a push failed; the status notices 0.3 s from their tap."""
    sid = unique("ops")
    await redis.set(owner_key(sid), account)
    planned, now = int(at(day, 12).timestamp() * 1000), datetime.now(UTC)
    events = []
    for i, (channel, sent) in enumerate(
        [(pb.CHANNEL_SMS, True)] * 3 + [(pb.CHANNEL_EMAIL, True), (pb.CHANNEL_PUSH, False)]
    ):
        nid = str(uuid.uuid4())
        events.append(
            feedback_events.settled(
                sid,
                nid,
                channel=channel,
                sent=sent,
                planned_ms=planned,
                tap_to_notice_ms=300,
                account="",
                now=now,
            )
        )
        if channel == pb.CHANNEL_SMS:
            events.append(
                feedback_events.receipt(sid, nid, planned_ms=planned, delivered=i < 2, now=now)
            )
    await NoticeDays(redis, ZONE).fold(events)


def value(html: str, name: str) -> str:
    found = re.search(rf'data-testid="{name}">([^<]*)<', html)
    assert found, name
    return found.group(1)


async def test_the_overview_shows_an_accounts_shipment_and_notice_figures(
    console: Api, settings: Settings, redis: Redis
) -> None:
    account = f"acct_{uuid.uuid4().hex[:12]}"
    today = datetime.now(ZONE).date()
    await shipments(settings, redis, account, today - timedelta(2), delivered=4, covered=2)
    await shipments(settings, redis, account, today - timedelta(4), delivered=1, covered=1)
    await shipments(settings, redis, account, today, delivered=2, covered=0)
    await notices(redis, account, today - timedelta(1))
    await sign_in(console)
    first = today - timedelta(2)
    query = f"account={account}&from={first}&to={today}"  # the period before: 3 days to -3
    page = await console.get(f"/console?lang=en&{query}")
    assert page.status == 200
    html = await page.text()
    assert value(html, "value-today") == "2"
    assert value(html, "value-coverage") == "33.3 %"  # 2 of the 6 delivered in the period
    assert "2 of 6 delivered" in html
    assert value(html, "change-coverage") == "(-66.7)"  # from 1 of 1
    p50, p95 = value(html, "value-p50"), value(html, "value-p95")
    assert p50.endswith(" s")
    assert 0.2 <= float(p50.removesuffix(" s")) <= 0.4  # its bucket: 200 to 400 ms
    assert 0.2 <= float(p95.removesuffix(" s")) <= 0.4
    rows = dict(
        re.findall(
            r'data-testid="notices-(\w+)"><th scope="row">[^<]*</th><td>(\d+</td><td>\d+)', html
        )
    )
    assert rows == {"sms": "3</td><td>0", "email": "1</td><td>0", "push": "0</td><td>1",
                    "webhook": "0</td><td>0"}  # fmt: skip
    assert value(html, "value-receipts") == "66.7 %"
    assert "2 of 3 with a delivery receipt" in html
    russian = await (await console.get(f"/console?lang=ru&{query}")).text()
    assert "Охват" in russian
    assert value(russian, "value-coverage") == "33,3 %"
    assert value(russian, "value-p50").endswith(" \u0441")  # seconds, in Cyrillic
    # another account's figures are not these
    other = await (await console.get(f"/console?lang=en&account=acct_none&from={first}")).text()
    assert value(other, "value-today") == "0"
    assert value(other, "value-coverage") == "Nothing delivered yet"
    assert value(other, "value-p50") == "No notices sent yet"


async def test_the_shipment_and_notice_figures_are_prometheus_gauges(
    settings: Settings, redis: Redis
) -> None:
    # a day no other test uses: the gauges count every account's
    day = datetime.now(ZONE).date() - timedelta(days=100 + uuid.uuid4().int % 200)
    await shipments(settings, redis, "", day, delivered=4, covered=3)
    await notices(redis, "", day)
    figures = DayFigures(redis, ZONE)
    await kpis.refresh_operations(figures, day)
    sample = REGISTRY.get_sample_value
    assert REGISTRY.get_sample_value("shipnotify_shipments_today", {"figure": "registered"}) == 4
    assert REGISTRY.get_sample_value("shipnotify_shipments_today", {"figure": "delivered"}) == 4
    assert REGISTRY.get_sample_value("shipnotify_coverage_percent") == 75.0
    p95 = REGISTRY.get_sample_value(
        "shipnotify_tap_to_notice_quantile_seconds", {"quantile": "0.95"}
    )
    assert p95 is not None
    assert 0.2 <= p95 <= 0.4
    assert sample("shipnotify_notices_final", {"channel": "sms", "outcome": "sent"}) == 3
    assert sample("shipnotify_notices_final", {"channel": "push", "outcome": "failed"}) == 1
    assert sample("shipnotify_sms_delivered_percent") == 100 * 2 / 3
    await kpis.refresh_operations(figures, day + timedelta(days=30))  # out of the window
    coverage = REGISTRY.get_sample_value("shipnotify_coverage_percent")
    assert coverage is not None
    assert math.isnan(coverage)
    assert sample("shipnotify_shipments_today", {"figure": "registered"}) == 0
