"""The count of call-back cases past their due time, as a gauge (CALLBACK_CASES_OVERDUE),
refreshed from Redis while the app runs, so that an alert needs no request to fire."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from aiohttp import web

from shipnotify import logs, loop, metrics
from shipnotify.store.feedback import FeedbackStore

log = logs.get(__name__)
EVERY_S = 15.0


async def refresh(feedback: FeedbackStore, now_ms: int) -> int:
    count = await feedback.overdue_count(now_ms)
    metrics.CALLBACK_CASES_OVERDUE.set(count)
    return count


async def refresh_safely(feedback: FeedbackStore) -> None:
    try:
        await refresh(feedback, int(time.time() * 1000))
    except Exception as e:  # Redis away, or a bug: the gauge keeps its last value
        log.warning("overdue cases not counted", error=repr(e))


def install(app: web.Application, feedback: FeedbackStore, every_s: float = EVERY_S) -> None:
    """Refreshes the gauge at start and every `every_s` until the app stops."""

    async def running(app: web.Application) -> AsyncIterator[None]:
        async with loop.every(every_s, lambda: refresh_safely(feedback)):
            yield

    app.cleanup_ctx.append(running)
