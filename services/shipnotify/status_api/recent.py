"""Shipments read lately, kept in memory while Redis says they have not changed: a poll
whose ETag still matches costs no round trip.

Each kept shipment holds a subscription to its change channel in the process's `Hub` (the
one the live pages use), taken before the read it keeps, so no change can fall between the
two. While the hub cannot read its channels nothing kept is trusted, and nothing is kept
longer than MAX_AGE_S in any case.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from shipnotify.status_api.live import Hub
from shipnotify.store import Shipment, TrackingStore

MAX_AGE_S = 30.0


@dataclass
class _Kept:
    shipment: Shipment
    changed: asyncio.Event  # set by the hub at each change of the shipment
    read_at: float


class RecentShipments:
    def __init__(self, store: TrackingStore, hub: Hub, *, size: int = 20_000) -> None:
        self._store, self._hub, self._size = store, hub, size
        self._kept: dict[str, _Kept] = {}  # oldest first

    async def get(self, shipment_id: str) -> Shipment | None:
        kept = self._kept.get(shipment_id)
        now = time.monotonic()
        fresh = kept and not kept.changed.is_set() and now - kept.read_at < MAX_AGE_S
        if kept and fresh and self._hub.intact:
            return kept.shipment
        if kept is None:
            return await self._first_read(shipment_id)
        kept.changed.clear()  # before the read: a change during it sets it again
        shipment = await self._store.shipment(shipment_id)
        if shipment is None:  # gone (expired)
            await self._forget(shipment_id)
        else:
            kept.shipment, kept.read_at = shipment, now
        return shipment

    async def _first_read(self, shipment_id: str) -> Shipment | None:
        changed = await self._hub.join(shipment_id)
        try:
            shipment = await self._store.shipment(shipment_id)
        except BaseException:
            await self._hub.leave(shipment_id, changed)
            raise
        if shipment is None or shipment_id in self._kept:  # unknown, or kept meanwhile
            await self._hub.leave(shipment_id, changed)
            return shipment
        if len(self._kept) >= self._size:
            await self._forget(next(iter(self._kept)))
        self._kept[shipment_id] = _Kept(shipment, changed, time.monotonic())
        return shipment

    async def _forget(self, shipment_id: str) -> None:
        kept = self._kept.pop(shipment_id, None)
        if kept is not None:
            await self._hub.leave(shipment_id, kept.changed)

    async def close(self) -> None:
        for shipment_id in list(self._kept):
            await self._forget(shipment_id)
