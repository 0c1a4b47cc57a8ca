"""At most one survey per person (phone or email) in `every_days` days: the notifier books a
person when it takes a survey up; the tracker's feedback consumer books them again from each
SurveySent it applies, so that a rebuild from the topics remembers who was asked."""

from __future__ import annotations

from redis.asyncio import Redis

from shipnotify.store.digests import address_digest
from shipnotify.store.keys import surveyed_key
from shipnotify.store.replies import text

_DAY_MS = 86_400_000


class SurveyThrottle:
    def __init__(self, redis: Redis, *, secret: bytes, every_days: int = 30) -> None:
        self._redis = redis
        self._secret = secret
        self._every_ms = every_days * _DAY_MS

    async def ask(self, address: str, survey_id: str) -> bool:
        """Books `address` for this survey unless another survey booked it within the last
        `every_days`: atomic (SET NX), so two notifiers never both ask. True: this survey may
        go (again, for a retry of the same survey)."""
        key = self._key(address)
        if await self._redis.set(key, survey_id, px=self._every_ms, nx=True):
            return True
        held = await self._redis.get(key)
        return held is not None and text(held) == survey_id

    async def remember(self, address: str, survey_id: str, sent_at_ms: int, now_ms: int) -> None:
        """A survey went to `address` at `sent_at_ms`: booked until `every_days` after that,
        unless already booked (by it, or by a later one)."""
        left_ms = sent_at_ms + self._every_ms - now_ms
        if left_ms > 0:
            await self._redis.set(self._key(address), survey_id, px=left_ms, nx=True)

    def _key(self, address: str) -> str:
        return surveyed_key(address_digest(self._secret, address))
