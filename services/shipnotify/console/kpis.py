"""The console's figures as Prometheus gauges, refreshed from Redis while the app runs, so
that a dashboard or an alert needs no page opened: the last 7 days' satisfaction
(SATISFACTION, SATISFACTION_ANSWERS, SURVEYS_SENT), today's shipments (SHIPMENTS_TODAY) and
the last 30 days' coverage, tap-to-notice quantiles, notices by channel and SMS delivered
(COVERAGE, TAP_TO_NOTICE_QUANTILE, NOTICES_FINAL, SMS_DELIVERED); and, on the same round,
the satisfaction page's settled sums of every account kept warm (`warm`)."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta

from aiohttp import web

from shipnotify import logs, loop, metrics
from shipnotify.console import operations
from shipnotify.console.figures import Period, cuts, headlines
from shipnotify.console.filters import DEFAULT_DAYS
from shipnotify.model.day_figures import FAILED, SENT
from shipnotify.model.survey import SCALE_NAMES
from shipnotify.store.day_figures import DayFigures
from shipnotify.store.survey_days import SurveyDays
from shipnotify.v1 import survey_pb2 as spb

log = logs.get(__name__)
EVERY_S = 60.0
DAYS = 7
OPERATIONS_DAYS = 30  # as the overview's default period


async def refresh(days: SurveyDays, today: date) -> None:
    period = Period(today - timedelta(DAYS - 1), today)
    found = await headlines(days, period, list(SCALE_NAMES.values()), "")
    for name, h in zip(SCALE_NAMES, found, strict=True):
        # NaN without answers: no figure, which a 0 would misstate
        metrics.SATISFACTION.labels(name).set(h.now.value if h.now else math.nan)
        metrics.SATISFACTION_ANSWERS.labels(name).set(h.answered)
        metrics.SURVEYS_SENT.labels(name).set(h.sent)


async def warm(days: SurveyDays, today: date, every_s: float) -> None:
    """Reads the satisfaction page of every account for the last year and for the default
    period, so that the sums of their settled days and months are kept: the first page after
    a start, and every page after, finds them summed. Those read more than two rounds short
    of their lifetime are read again now, so that they never lapse before a page."""
    days.settled.drop_older(days.settled.for_s - 2 * every_s)
    for first in (today - timedelta(364), today - timedelta(DEFAULT_DAYS - 1)):
        await cuts(days, Period(first, today), spb.SCALE_CSAT, "")


async def refresh_operations(figures: DayFigures, today: date) -> None:
    """Today's shipments and the last 30 days' coverage, latency, notices and receipts."""
    period = Period(today - timedelta(OPERATIONS_DAYS - 1), today)
    ops = await operations.read(figures, period, today, "")
    metrics.SHIPMENTS_TODAY.labels("registered").set(ops.today)
    metrics.SHIPMENTS_TODAY.labels("delivered").set(ops.delivered_today)
    metrics.COVERAGE.set(_or_nan(ops.coverage.percent))
    metrics.TAP_TO_NOTICE_QUANTILE.labels("0.5").set(_or_nan(ops.p50_ms, 1000))
    metrics.TAP_TO_NOTICE_QUANTILE.labels("0.95").set(_or_nan(ops.p95_ms, 1000))
    for channel, (sent, failed) in ops.notices.items():
        metrics.NOTICES_FINAL.labels(channel, SENT).set(sent)
        metrics.NOTICES_FINAL.labels(channel, FAILED).set(failed)
    metrics.SMS_DELIVERED.set(_or_nan(ops.receipts.percent))


def _or_nan(value: float | None, per: float = 1.0) -> float:
    return math.nan if value is None else value / per


def install(
    app: web.Application,
    days: SurveyDays,
    today: Callable[[], date],
    every_s: float = EVERY_S,
    *,
    figures: DayFigures | None = None,
) -> None:
    async def refresh_safely() -> None:
        try:
            await refresh(days, today())
            await warm(days, today(), every_s)
            if figures is not None:
                await refresh_operations(figures, today())
        except Exception as e:  # Redis away, or a bug: the gauges keep their last values
            log.warning("console figures not refreshed", error=repr(e))

    async def running(app: web.Application) -> AsyncIterator[None]:
        async with loop.every(every_s, refresh_safely):
            yield

    app.cleanup_ctx.append(running)
