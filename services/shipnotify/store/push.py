"""A shipment's Web Push subscriptions: written by the tracker from the events topic (a
browser subscribed or left, or its push service said it is gone), read when it plans a
status's notices."""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

from shipnotify.store.keys import push_key
from shipnotify.v1 import shipment_events_pb2 as pb

PUSH_BODIES = frozenset({"push_subscribed", "push_unsubscribed"})
MAX_SUBSCRIPTIONS = 20  # browsers of one shipment; more is abuse of a public page


class PushSubscriptions:
    def __init__(self, redis: Redis, *, keep_days: int = 90) -> None:
        self._redis = redis
        self._keep_s = keep_days * 86400

    async def apply(self, events: Sequence[pb.ShipmentEvent]) -> int:
        """Subscribes and unsubscribes as `events` say, in order, and forgets every
        subscription of a shipment whose contacts were erased. Idempotent. Returns how many
        events it applied."""
        pipe = self._redis.pipeline(transaction=False)
        n = 0
        for event in events:
            key, body = push_key(event.shipment_id), event.WhichOneof("body")
            if body == "push_subscribed":
                sub = event.push_subscribed
                pipe.hset(key, sub.endpoint, sub.SerializeToString())
                pipe.expire(key, self._keep_s)
            elif body == "push_unsubscribed":
                pipe.hdel(key, event.push_unsubscribed.endpoint)
            elif body == "contacts_erased":
                pipe.delete(key)
            else:
                continue
            n += 1
        if n:
            await pipe.execute()
        return n

    async def of(self, shipment_ids: Sequence[str]) -> list[tuple[pb.PushSubscribed, ...]]:
        """Each shipment's subscriptions (at most MAX_SUBSCRIPTIONS), in one round trip; a
        shipment named more than once (a batch's several events of it) is read once."""
        if not shipment_ids:
            return []
        ids = list(dict.fromkeys(shipment_ids))
        pipe = self._redis.pipeline(transaction=False)
        for sid in ids:
            pipe.hvals(push_key(sid))
        found = {
            sid: tuple(pb.PushSubscribed.FromString(v) for v in values[:MAX_SUBSCRIPTIONS])
            for sid, values in zip(ids, await pipe.execute(), strict=True)
        }
        return [found[sid] for sid in shipment_ids]
