"""The courier app's side of ingest: who has which shipment (assigned by the order system or
an operator, appended to the events topic like any change), and a courier's run as the app
lists it (read from Redis, where the tracker keeps it)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import TypeVar

from aiohttp import web

from shipnotify import logs
from shipnotify.ingest.schemas import Recipient, Run, Stop
from shipnotify.model.status import COURIER_TAPS, Status, next_taps
from shipnotify.store import UNREACHABLE
from shipnotify.store.couriers import CourierRuns
from shipnotify.store.couriers import Stop as StoredStop
from shipnotify.web import ApiError, json_response

log = logs.get(__name__)
T = TypeVar("T")

COURIERS = web.AppKey("couriers", CourierRuns)
ASSIGNED_ELSEWHERE = "assigned to another courier"
_CHECK_TIMEOUT_S = 0.5

# The rule of progress as the app needs it offline: status -> the taps that move it on.
PROGRESS = {s.value: [t.value for t in next_taps(s)] for s in Status}
NEW_TAPS = [t.value for t in COURIER_TAPS]  # a shipment with no status yet


async def run_of(request: web.Request, courier_id: str) -> web.Response:
    stops = await _read(request.app[COURIERS].run(courier_id))
    return json_response(
        Run(courier_id=courier_id, shipments=[stop_view(s) for s in stops], progress=PROGRESS)
    )


async def one_stop(request: web.Request, courier_id: str) -> web.Response:
    tracking_id = request.match_info["tracking_id"]
    stop = await _read(request.app[COURIERS].stop(tracking_id))
    if stop is None:
        raise ApiError(
            404, "not_found", "no shipment has this tracking number", {"tracking_id": "unknown"}
        )
    if stop.courier_id and stop.courier_id != courier_id:
        raise ApiError(
            403, "forbidden", f"the shipment is {ASSIGNED_ELSEWHERE}",
            {"tracking_id": ASSIGNED_ELSEWHERE},
        )  # fmt: skip
    return json_response(stop_view(stop))


async def held_elsewhere(
    request: web.Request, courier_id: str, shipment_ids: list[str]
) -> list[bool] | None:
    """Whether each shipment is another courier's (a tap on it is refused); None when Redis
    does not answer soon: a tap is never refused for want of this check."""
    try:
        async with asyncio.timeout(_CHECK_TIMEOUT_S):
            held = await request.app[COURIERS].couriers_of(shipment_ids)
    except (*UNREACHABLE, TimeoutError) as e:
        log.warning("couriers not checked", error=repr(e), events=len(shipment_ids))
        return None
    return [bool(c) and c != courier_id for c in held]


def stop_view(stop: StoredStop) -> Stop:
    contact = stop.recipient
    return Stop(
        shipment_id=stop.shipment_id,
        tracking_id=stop.tracking_id,
        status=stop.status.value if stop.status else None,
        status_at=datetime.fromtimestamp(stop.status_at_ms / 1000, UTC) if stop.status else None,
        recipient=Recipient(
            name=contact.name,
            phone=contact.phone or None,
            address=stop.delivery_address or None,
        )
        if contact
        else None,
        next=PROGRESS[stop.status.value] if stop.status else NEW_TAPS,
    )


async def _read(reading: Awaitable[T]) -> T:
    try:
        return await reading
    except UNREACHABLE as e:
        log.warning("courier run not read", error=repr(e))
        raise ApiError(
            503, "unavailable", "the shipments cannot be read now; retry after Retry-After",
            {"redis": "unreachable"}, {"Retry-After": "5"},
        ) from None  # fmt: skip
