"""Server-sent events: a page stays open and hears of every change to its shipment.

Each event carries the whole tracking snapshot and, as its id, the shipment's version; a
client that reconnects with an older Last-Event-ID gets the current snapshot at once, so no
update is lost. Redis keeps nothing for this: a change is announced on the shipment's
pub/sub channel, and the pages of one process share one pub/sub connection (`Hub`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from weakref import WeakKeyDictionary, ref

from aiohttp import web
from pydantic import BaseModel
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import ClusterPubSub

from shipnotify import logs
from shipnotify.store import UNREACHABLE, TrackingStore
from shipnotify.store.keys import updates_channel
from shipnotify.store.replies import text

log = logs.get(__name__)

# The current snapshot and its event id (the shipment's version); None if there is none.
SnapshotFn = Callable[[], Awaitable[tuple[str, BaseModel] | None]]
_SUBSCRIBE_TIMEOUT_S = 10.0


class Hub:
    """One pub/sub connection for all the live pages of a process: it is subscribed to a
    shipment's channel while a page shows that shipment, and wakes those pages at each
    change. It holds a connection only while some page is open."""

    def __init__(self, store: TrackingStore) -> None:
        self._store = ref(store)  # not a strong one: the store is the key of its hub
        self._pages: dict[str, set[asyncio.Event]] = {}  # channel -> its pages' wake-ups
        # One (un)subscription at a time, so that the reply read is the one awaited.
        self._lock = asyncio.Lock()
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._confirm: tuple[str, asyncio.Future[None]] | None = None
        self._intact = True

    @contextlib.asynccontextmanager
    async def watch(self, shipment_id: str) -> AsyncIterator[asyncio.Event]:
        """An event set at each change of the shipment made after this was entered (Redis
        has confirmed the subscription by then)."""
        wake = await self.join(shipment_id)
        try:
            yield wake
        finally:
            # shielded: a cancelled page still unsubscribes (or closes the connection)
            await asyncio.shield(self.leave(shipment_id, wake))

    async def join(self, shipment_id: str) -> asyncio.Event:
        """As watch(), for a holder that leaves later, at a time of its choosing."""
        channel = updates_channel(shipment_id)
        wake = asyncio.Event()
        async with self._lock:
            if channel not in self._pages:
                await self._subscribe(channel)
            self._pages.setdefault(channel, set()).add(wake)
        return wake

    async def leave(self, shipment_id: str, wake: asyncio.Event) -> None:
        await self._leave(updates_channel(shipment_id), wake)

    @property
    def intact(self) -> bool:
        """False from a read error until Redis has confirmed a subscription again: changes
        may have gone unannounced meanwhile."""
        return self._intact

    async def _subscribe(self, channel: str) -> None:
        confirmed = asyncio.get_running_loop().create_future()
        self._confirm = (channel, confirmed)
        try:
            if self._pubsub is None:
                store = self._store()
                assert store is not None  # the page holds it
                self._pubsub = store.update_feed()
            await self._pubsub.ssubscribe(channel)
            if self._reader is None:
                self._reader = asyncio.create_task(self._read(self._pubsub))
            async with asyncio.timeout(_SUBSCRIBE_TIMEOUT_S):
                await confirmed
        except BaseException:
            if not self._pages:
                await self._close()
            raise
        finally:
            self._confirm = None

    async def _leave(self, channel: str, wake: asyncio.Event) -> None:
        async with self._lock:
            pages = self._pages[channel]
            pages.discard(wake)
            if pages:
                return
            del self._pages[channel]
            if not self._pages:
                await self._close()  # the last page: the connection goes back to the pool
            elif self._pubsub is not None:
                with contextlib.suppress(*UNREACHABLE):
                    await self._pubsub.sunsubscribe(channel)

    async def _close(self) -> None:
        reader, pubsub = self._reader, self._pubsub
        self._reader = self._pubsub = None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        if pubsub is not None:
            with contextlib.suppress(*UNREACHABLE):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _read(self, pubsub: PubSub) -> None:
        while True:
            try:
                message = await _next_message(pubsub)
            except Exception as e:  # Redis away: pages look at the version at their keepalive
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    # redis-py can answer a cancelled read with an error of its own: the
                    # reader is being closed, and must not go on reading
                    raise asyncio.CancelledError from e
                log.warning("live updates not readable now", error=repr(e))
                self._intact = False  # until redis-py has subscribed again, waking every page
                await asyncio.sleep(1.0)
                continue
            if message is None:
                continue
            channel, kind = text(message["channel"]), message["type"]
            if kind == "ssubscribe":
                self._intact = True
            if kind == "ssubscribe" and self._confirm and self._confirm[0] == channel:
                if not self._confirm[1].done():
                    self._confirm[1].set_result(None)
            elif kind in ("smessage", "ssubscribe"):
                # an ssubscribe here is redis-py subscribing again after a reconnect, when
                # changes may have gone unannounced: those pages look again too
                for wake in self._pages.get(channel, ()):
                    wake.set()


async def _next_message(pubsub: PubSub) -> dict[str, Any] | None:
    if isinstance(pubsub, ClusterPubSub):
        # a connection a node, read in turn: a short wait on each, so that none is starved
        message = await pubsub.get_sharded_message(timeout=0.05)
        if message is None:
            await asyncio.sleep(0.01)  # nothing subscribed answers at once
        return message
    found: dict[str, Any] | None = await pubsub.get_message(timeout=None)
    return found


_hubs: WeakKeyDictionary[TrackingStore, Hub] = WeakKeyDictionary()


def hub(store: TrackingStore) -> Hub:
    """The hub of the app that owns `store` (one per process in production)."""
    if store not in _hubs:
        _hubs[store] = Hub(store)
    return _hubs[store]


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

    if request.method == "HEAD":  # a stream's headers, and no stream
        await response.prepare(request)
        return response

    async def send_if_newer() -> bool:
        nonlocal last
        current = await snapshot()
        if current is None or current[0] == last:
            return False
        last, model = current
        data = model.model_dump_json(exclude_none=True)
        await response.write(f"id: {last}\nevent: update\ndata: {data}\n\n".encode())
        return True

    # Subscribed before the first read: a change made after that read wakes the page, so
    # none falls between the two.
    async with hub(store).watch(shipment_id) as changed:
        await response.prepare(request)
        try:
            await send_if_newer()  # a first visit, or what changed since the client's last event
            while True:
                try:
                    async with asyncio.timeout(keepalive_s):
                        await changed.wait()
                except TimeoutError:
                    # Pub/sub may drop an announcement (a reconnect): the version is sure.
                    if await store.last_update_id(shipment_id) == last or not (
                        await send_if_newer()
                    ):
                        await response.write(b": keepalive\n\n")  # also finds a gone client
                    continue
                changed.clear()
                await send_if_newer()
        except ConnectionResetError:
            pass  # the page was closed
    return response
