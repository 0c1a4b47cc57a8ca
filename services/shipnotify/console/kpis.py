"""The console's figures of the last 7 days as Prometheus gauges (SATISFACTION,
SATISFACTION_ANSWERS, SURVEYS_SENT), refreshed from Redis while the app runs, so that a
dashboard or an alert needs no page opened."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta

from aiohttp import web

from shipnotify import logs, loop, metrics
from shipnotify.console.figures import Period, headlines
from shipnotify.model.survey import SCALE_NAMES
from shipnotify.store.survey_days import SurveyDays

log = logs.get(__name__)
EVERY_S = 60.0
DAYS = 7


async def refresh(days: SurveyDays, today: date) -> None:
    period = Period(today - timedelta(DAYS - 1), today)
    found = await headlines(days, period, list(SCALE_NAMES.values()), "")
    for name, h in zip(SCALE_NAMES, found, strict=True):
        # NaN without answers: no figure, which a 0 would misstate
        metrics.SATISFACTION.labels(name).set(h.now.value if h.now else math.nan)
        metrics.SATISFACTION_ANSWERS.labels(name).set(h.answered)
        metrics.SURVEYS_SENT.labels(name).set(h.sent)


def install(
    app: web.Application, days: SurveyDays, today: Callable[[], date], every_s: float = EVERY_S
) -> None:
    async def refresh_safely() -> None:
        try:
            await refresh(days, today())
        except Exception as e:  # Redis away, or a bug: the gauges keep their last values
            log.warning("console figures not refreshed", error=repr(e))

    async def running(app: web.Application) -> AsyncIterator[None]:
        async with loop.every(every_s, refresh_safely):
            yield

    app.cleanup_ctx.append(running)
