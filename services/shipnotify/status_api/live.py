"""Server-sent events: a page stays open and hears of every change to its shipment.

Each event carries the whole tracking snapshot and, as its id, the id of the change in the
shipment's Redis stream; a client that reconnects with Last-Event-ID gets the current
snapshot at once if anything changed meanwhile, so no update is lost.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import BaseModel

from shipnotify.store import TrackingStore

SnapshotFn = Callable[[], Awaitable[BaseModel | None]]


async def stream(
    request: web.Request,
    store: TrackingStore,
    shipment_id: str,
    snapshot: SnapshotFn,
    keepalive_s: float,
) -> web.StreamResponse:
    last = request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",  # proxies must not hold events back
        }
    )
    await response.prepare(request)
    newest = await store.last_update_id(shipment_id)
    if last != newest:  # a first visit, or something happened since the client's last event
        await _send(response, newest, await snapshot())
    last = newest
    try:
        while True:
            changed = await store.next_update(shipment_id, last, int(keepalive_s * 1000))
            if changed is None:
                await response.write(b": keepalive\n\n")  # also finds a gone client
                continue
            last = changed
            await _send(response, last, await snapshot())
    except ConnectionResetError:
        pass  # the page was closed
    return response


async def _send(response: web.StreamResponse, event_id: str, model: BaseModel | None) -> None:
    if model is None:
        return
    data = model.model_dump_json(exclude_none=True)
    await response.write(f"id: {event_id}\nevent: update\ndata: {data}\n\n".encode())
