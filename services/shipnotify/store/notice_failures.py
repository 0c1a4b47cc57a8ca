"""The notices that ended in a failure, newest first: an index beside the notices' states
(which live per shipment, store/notices.py), for the console's failed notices page. One
sorted set of every account's and one an account (the shipment's owner's), scored by when
the notice ended (keys.failed_notices_key). The notifier adds a notice that ends failed,
rejected or dead, hooks one whose delivery receipt says failed or undelivered; a notice sent
again and sent takes its failed one off; those older than the retention go as others come,
so that no set grows past what the shipments' own keys keep."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from shipnotify.store.accounts import owner
from shipnotify.store.keys import failed_notices_key
from shipnotify.store.notices import now_ms
from shipnotify.store.replies import text

_DAY_MS = 86_400_000


@dataclass(frozen=True)
class FailedNotice:
    shipment_id: str
    notification_id: str
    at_ms: int  # when it ended so


@dataclass(frozen=True)
class FailedPage:
    notices: list[FailedNotice]
    total: int  # within the retention


class NoticeFailures:
    def __init__(self, redis: Redis, *, keep_days: int) -> None:
        self._redis = redis
        self._keep_ms = keep_days * _DAY_MS

    async def add(self, shipment_id: str, nid: str, at_ms: int | None = None) -> None:
        """Lists a notice that ended in a failure (again: it keeps its first time)."""
        at = at_ms or now_ms()
        member = _member(shipment_id, nid)
        pipe = self._redis.pipeline(transaction=False)  # the keys span slots
        for key in await self._keys(shipment_id):
            pipe.zadd(key, {member: at}, nx=True)
            pipe.zremrangebyscore(key, "-inf", f"({at - self._keep_ms}")
        await pipe.execute()

    async def remove(self, shipment_id: str, nid: str) -> None:
        """Takes a notice off the list (it was sent again, and that one went)."""
        member = _member(shipment_id, nid)
        pipe = self._redis.pipeline(transaction=False)
        for key in await self._keys(shipment_id):
            pipe.zrem(key, member)
        await pipe.execute()

    async def page(self, account_id: str, *, offset: int, limit: int) -> FailedPage:
        """A page of the list, newest first: every account's ("") or one account's; one
        round trip, of `limit` entries at most."""
        key = failed_notices_key(account_id)
        since = now_ms() - self._keep_ms
        pipe = self._redis.pipeline(transaction=False)  # one key
        pipe.zrevrangebyscore(key, "+inf", since, start=offset, num=limit, withscores=True)
        pipe.zcount(key, since, "+inf")
        found, total = await pipe.execute()
        notices = []
        for member, score in found:
            shipment_id, _, nid = text(member).rpartition(" ")
            notices.append(FailedNotice(shipment_id, nid, int(score)))
        return FailedPage(notices, int(total))

    async def listed(self, shipment_id: str, nids: list[str]) -> list[bool]:
        """Whether each of a shipment's notices is on the list (one command)."""
        if not nids:
            return []
        members = [_member(shipment_id, nid) for nid in nids]
        scores = await self._redis.zmscore(failed_notices_key(), members)
        return [score is not None for score in scores]

    async def _keys(self, shipment_id: str) -> list[str]:
        account = await owner(self._redis, shipment_id)
        return [failed_notices_key(), *([failed_notices_key(account)] if account else [])]


def _member(shipment_id: str, nid: str) -> str:
    # a notification id is a UUID: the last space separates it from any shipment id
    return f"{shipment_id} {nid}"
