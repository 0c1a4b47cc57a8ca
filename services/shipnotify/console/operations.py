"""The overview's shipment and notice figures (issue 20's delivery KPIs), from the per-day
counts (store/day_figures.py) in one round trip: shipments registered today, coverage over
the period against the period before, the status notices' tap-to-notice p50 and p95, notices
sent and failed by channel, and the SMS delivered by their receipts; of every shipment or of
one account's (the filters')."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from shipnotify.console.figures import Period
from shipnotify.i18n import mark, text
from shipnotify.model import day_figures as f
from shipnotify.model.day_figures import Ratio
from shipnotify.store.day_figures import DayFigures, Wanted

Fmt = Callable[[float], str]

CHANNELS = {
    "sms": mark("console.kpi.channel.sms"),
    "email": mark("console.kpi.channel.email"),
    "push": mark("console.kpi.channel.push"),
    "webhook": mark("console.kpi.channel.webhook"),
}


@dataclass(frozen=True)
class Operations:
    today: int  # shipments registered today
    delivered_today: int
    coverage: Ratio
    coverage_before: Ratio
    p50_ms: float | None
    p95_ms: float | None
    notices: dict[str, tuple[int, int]]  # channel -> (sent, failed)
    receipts: Ratio  # SMS delivered / SMS with a final receipt


async def read(figures: DayFigures, period: Period, today: date, account: str) -> Operations:
    before = period.before
    now, earlier, day, notices = await figures.read(
        [
            Wanted(period.first, period.last, f.SHIPMENTS, account),
            Wanted(before.first, before.last, f.SHIPMENTS, account),
            Wanted(today, today, f.SHIPMENTS, account),
            Wanted(period.first, period.last, f.NOTICES, account),
        ]
    )
    histogram = f.latencies(notices)
    return Operations(
        today=day.get(f.REGISTERED, 0),
        delivered_today=day.get(f.DELIVERED, 0),
        coverage=f.coverage(now),
        coverage_before=f.coverage(earlier),
        p50_ms=f.quantile(histogram, 0.5),
        p95_ms=f.quantile(histogram, 0.95),
        notices=f.by_channel(notices),
        receipts=f.sms_receipts(notices),
    )


def shown(ops: Operations, lang: str, fmt: Fmt) -> dict[str, Any]:
    """What the template shows, in `lang` (a number as the language writes it)."""

    def percent(r: Ratio) -> str:
        return "" if r.percent is None else fmt(r.percent) + " %"

    def seconds(ms: float | None) -> str:
        return "" if ms is None else fmt(ms / 1000) + " " + text(lang, mark("console.kpi.seconds"))

    now, before = ops.coverage.percent, ops.coverage_before.percent
    change, trend = "", ""
    if now is not None and before is not None:
        change = ("+" if now > before else "") + fmt(now - before)
        trend = "" if now == before else "up" if now > before else "down"
    return {
        "today": ops.today,
        "delivered_today": ops.delivered_today,
        "coverage": percent(ops.coverage),
        "covered": ops.coverage.part,
        "delivered": ops.coverage.whole,
        "coverage_before": percent(ops.coverage_before),
        "coverage_change": change,
        "coverage_trend": trend,
        "p50": seconds(ops.p50_ms),
        "p95": seconds(ops.p95_ms),
        "channels": [
            {"name": c, "label": text(lang, CHANNELS[c]), "sent": sent, "failed": failed}
            for c, (sent, failed) in ops.notices.items()
        ],
        "receipts": percent(ops.receipts),
        "receipts_delivered": ops.receipts.part,
        "receipts_all": ops.receipts.whole,
    }
