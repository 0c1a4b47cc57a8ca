"""status_api keeps shipments read lately in memory until Redis announces a change."""

from __future__ import annotations

from redis.asyncio import Redis

from shipnotify.model.status import Status
from shipnotify.status_api import live
from shipnotify.status_api.recent import MAX_AGE_S, RecentShipments
from shipnotify.store import TrackingStore
from shipnotify.store.keys import shipment_keys

from .conftest import eventually, kill_pubsub_clients, shard_subscribers
from .test_live import event, registered


async def test_a_kept_shipment_is_served_from_memory_until_a_change_is_announced(
    redis: Redis,
) -> None:
    store = TrackingStore(redis)
    sid, _ = await registered(store)
    recent = RecentShipments(store, live.Hub(store))
    try:
        first = await recent.get(sid)
        assert first is not None
        await redis.hincrby(shipment_keys(sid)[0], "v", 10)  # unannounced: not seen
        assert await recent.get(sid) is first  # no read: the same object
        await store.apply([event(sid, Status.PICKED_UP)])  # announced

        async def changed() -> bool:
            kept = await recent.get(sid)
            return kept is not None and (kept.status, kept.version) == (Status.PICKED_UP, 12)

        # read again for the announcement, long before its age alone would have it read
        await eventually(changed, timeout_s=MAX_AGE_S / 3)
    finally:
        await recent.close()


async def test_after_the_change_feed_broke_nothing_kept_is_trusted(redis: Redis) -> None:
    """A change made while the hub's connection was down is never announced: the hub's
    resubscription makes every kept shipment be read again."""
    store = TrackingStore(redis)
    sid, _ = await registered(store)
    recent = RecentShipments(store, live.Hub(store))
    try:
        assert (await recent.get(sid)) is not None
        await kill_pubsub_clients(redis)
        await redis.hset(shipment_keys(sid)[0], "s", "delivered")  # never announced

        async def read_again() -> bool:
            kept = await recent.get(sid)
            return kept is not None and kept.status is Status.DELIVERED

        await eventually(read_again, timeout_s=5)
    finally:
        await recent.close()


async def test_at_most_size_shipments_are_kept_and_subscribed(redis: Redis) -> None:
    store = TrackingStore(redis)
    ids = [(await registered(store))[0] for _ in range(3)]
    recent = RecentShipments(store, live.Hub(store), size=2)
    channels = [shipment_keys(sid)[3] for sid in ids]
    try:
        for sid in ids:
            assert await recent.get(sid) is not None
        subscribed = await shard_subscribers(redis, channels)
        assert subscribed == [0, 1, 1]  # the oldest gave its place up
        assert await recent.get("no-such-shipment") is None
        assert await shard_subscribers(redis, channels) == [0, 1, 1]
    finally:
        await recent.close()
    assert await shard_subscribers(redis, channels) == [0, 0, 0]
