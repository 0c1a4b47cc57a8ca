"""Business customers' accounts as the tracker's accounts consumer keeps them in Redis (keys
in keys.py): here the reads of the webhooks' planners and sender, a shipment's owner and an
account's endpoints."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from redis.asyncio import Redis

from shipnotify.store import keys
from shipnotify.v1 import accounts_pb2 as apb


async def owner(redis: Redis, shipment_id: str) -> str:
    """The account a shipment belongs to; "" for the carrier's own."""
    value = cast(bytes | None, await redis.get(keys.owner_key(shipment_id)))
    return value.decode() if value else ""


async def owners(redis: Redis, shipment_ids: Sequence[str]) -> list[str]:
    """Many shipments' owners in one round trip ("" for the carrier's)."""
    if not shipment_ids:
        return []
    pipe = redis.pipeline(transaction=False)  # GETs: the keys span slots
    for shipment_id in shipment_ids:
        pipe.get(keys.owner_key(shipment_id))
    return [v.decode() if v else "" for v in await pipe.execute()]


async def endpoints(redis: Redis, account_id: str) -> list[apb.Endpoint]:
    """An account's webhook endpoints, disabled ones included, by endpoint id."""
    stored = cast(dict[bytes, bytes], await redis.hgetall(keys.account_endpoints_key(account_id)))
    return [apb.Endpoint.FromString(stored[k]) for k in sorted(stored)]


async def endpoints_of(redis: Redis, account_ids: Sequence[str]) -> dict[str, list[apb.Endpoint]]:
    """Many accounts' endpoints in one round trip."""
    if not account_ids:
        return {}
    pipe = redis.pipeline(transaction=False)
    for account_id in account_ids:
        pipe.hgetall(keys.account_endpoints_key(account_id))
    return {
        account_id: [apb.Endpoint.FromString(stored[k]) for k in sorted(stored)]
        for account_id, stored in zip(account_ids, await pipe.execute(), strict=True)
    }


async def endpoint(redis: Redis, account_id: str, endpoint_id: str) -> apb.Endpoint | None:
    """One endpoint, as it is now; None once removed."""
    stored = cast(
        bytes | None, await redis.hget(keys.account_endpoints_key(account_id), endpoint_id)
    )
    return apb.Endpoint.FromString(stored) if stored else None
