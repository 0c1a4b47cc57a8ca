"""The count of call-back cases past their due time, as a gauge (CALLBACK_CASES_OVERDUE),
refreshed from Redis while the app runs, so that an alert needs no request to fire."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from aiohttp import web

from shipnotify import logs, metrics
from shipnotify.store.feedback import FeedbackStore

log = logs.get(__name__)
EVERY_S = 15.0


async def refresh(feedback: FeedbackStore, now_ms: int) -> int:
    count = await feedback.overdue_count(now_ms)
    metrics.CALLBACK_CASES_OVERDUE.set(count)
    return count


async def _refreshing(feedback: FeedbackStore, every_s: float) -> None:
    while True:
        try:
            await refresh(feedback, int(time.time() * 1000))
        except Exception as e:  # Redis away, or a bug: the gauge keeps its last value
            log.warning("overdue cases not counted", error=repr(e), retry_in_s=every_s)
        await asyncio.sleep(every_s)


def install(app: web.Application, feedback: FeedbackStore, every_s: float = EVERY_S) -> None:
    """Refreshes the gauge at start and every `every_s` until the app stops."""

    async def running(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(_refreshing(feedback, every_s))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(running)
