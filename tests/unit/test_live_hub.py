"""The live pages' hub stops when it is closed, even when the Redis client answers the
cancelled read with an error of its own rather than letting the cancellation through."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError

from shipnotify.status_api.live import Hub
from shipnotify.store import TrackingStore


class CancelTurnedIntoError:
    """A pub/sub whose read, once cancelled, raises a connection error instead."""

    def __init__(self) -> None:
        self.reading = asyncio.Event()
        self.reads = 0

    async def get_message(self, **_: Any) -> dict[str, Any] | None:
        self.reads += 1
        self.reading.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise RedisConnectionError("Connection closed by server.") from None
        return None


class Store:
    """The hub keeps a weak reference to its store, and never uses it here."""


async def test_a_cancelled_reader_stops_though_the_client_raised_its_own_error() -> None:
    hub = Hub(cast(TrackingStore, Store()))
    pubsub = CancelTurnedIntoError()
    reader = asyncio.create_task(hub._read(cast(PubSub, pubsub)))
    await pubsub.reading.wait()
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(reader, timeout=5)
    assert pubsub.reads == 1  # it did not read again
