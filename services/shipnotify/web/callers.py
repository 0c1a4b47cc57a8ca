"""Who is calling with an `X-Api-Key`: the operator (the carrier's own keys,
SHIPNOTIFY_API_KEYS, which see and change everything) or a business customer's account key
(looked up by its SHA-256 in Redis; it sees and changes only its own account). Anything of
another account answers 404, as if it did not exist (`not_found`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from shipnotify.model import accounts as model
from shipnotify.store import UNREACHABLE
from shipnotify.store import accounts as stored
from shipnotify.web import ApiError, auth

_LOOKUP_TIMEOUT_S = 2.0
RETRY_AFTER_S = "5"


@dataclass(frozen=True)
class Caller:
    account_id: str = ""  # "": the operator
    key_id: str = ""

    @property
    def operator(self) -> bool:
        return not self.account_id

    def may_see(self, account_id: str) -> bool:
        """Whether this caller may see what belongs to `account_id` ("": the carrier)."""
        return self.operator or account_id == self.account_id


OPERATOR = Caller()


async def caller(presented: str | None, operator_keys: Sequence[str], redis: Redis) -> Caller:
    """The caller a key names; 401 for none or an unknown key; 503 with Retry-After when an
    account key cannot be looked up now."""
    if presented and model.looks_like_key(presented):
        try:
            async with asyncio.timeout(_LOOKUP_TIMEOUT_S):
                found = await stored.key_account(redis, model.key_sha256(presented))
        except (*UNREACHABLE, TimeoutError):
            raise unavailable() from None
        if found is not None:
            return Caller(*found)
    auth.check_api_key(presented, operator_keys)
    return OPERATOR


def unavailable() -> ApiError:
    return ApiError(
        503,
        "unavailable",
        "the accounts cannot be read now; retry after Retry-After",
        {"redis": "unreachable"},
        {"Retry-After": RETRY_AFTER_S},
    )


def not_found(what: str, field: str) -> ApiError:
    """The answer for anything that does not exist, or is another account's."""
    return ApiError(404, "not_found", f"no such {what}", {field: "not found"})


async def owners(redis: Redis, shipment_ids: Sequence[str]) -> list[str]:
    """Each shipment's owning account ("": the carrier's); 503 when Redis is away."""
    if not shipment_ids:
        return []
    try:
        async with asyncio.timeout(_LOOKUP_TIMEOUT_S):
            return await stored.owners(redis, shipment_ids)  # one round trip
    except (*UNREACHABLE, TimeoutError):
        raise unavailable() from None


async def check_owner(redis: Redis, who: Caller, shipment_id: str) -> None:
    """404 unless the caller may see the shipment: the operator sees all; an account key
    only its own account's shipments."""
    if who.operator:
        return
    if (await owners(redis, [shipment_id]))[0] != who.account_id:
        raise not_found("shipment", "shipment_id")


async def claim(redis: Redis, who: Caller, shipment_id: str) -> None:
    """A registration with an account key: the shipment becomes the account's (so a second
    account cannot take the id: 404, as if it did not exist; the same account's retry
    passes; a shipment the carrier has already stays the carrier's: 404)."""
    try:
        async with asyncio.timeout(_LOOKUP_TIMEOUT_S):
            found = await stored.claim(redis, shipment_id, who.account_id)
    except (*UNREACHABLE, TimeoutError):
        raise unavailable() from None
    if found != who.account_id:
        raise not_found("shipment", "shipment_id")
