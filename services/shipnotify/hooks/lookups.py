"""Reading Redis for a request: an answer within a bound, or 503 with Retry-After (nothing
was recorded; the client retries), and the shipment a tracking id names (404 if none)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from aiohttp import web

from shipnotify import logs
from shipnotify.hooks.resources import TRACKING
from shipnotify.store import UNREACHABLE
from shipnotify.web import ApiError
from shipnotify.web import event_log as topics

log = logs.get(__name__)
T = TypeVar("T")
TIMEOUT_S = 2.0


async def read(lookup: Awaitable[T]) -> T:
    try:
        async with asyncio.timeout(TIMEOUT_S):
            return await lookup
    except (*UNREACHABLE, TimeoutError) as e:
        log.warning("redis not read", error=repr(e))
        raise ApiError(
            503,
            "unavailable",
            "the tracking state is unreachable; nothing was recorded",
            {"redis": "unreachable"},
            {"Retry-After": topics.RETRY_AFTER_S},
        ) from None


async def shipment_of(request: web.Request, tracking_id: str) -> str:
    shipment_id = await read(request.app[TRACKING].shipment_id_for(tracking_id))
    if shipment_id is None:
        raise ApiError(
            404, "not_found", "no shipment has this tracking id", {"tracking_id": "unknown"}
        )
    return shipment_id
