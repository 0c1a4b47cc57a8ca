"""Per-client rate limiting of the public routes: enumeration of tracking ids is impractical,
and one client cannot starve the others. A fixed window per client address, counted in Redis
so that every status_api instance counts together.

Requests are counted here first and added to Redis a few times a second in one round trip,
rather than one round trip per request (which cost more than the lookup it guards). An
instance sees the others' counts as of its last flush, so a client can exceed its limit by
what it sends to the other instances in one flush interval.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from redis.asyncio import Redis

from shipnotify import logs, loop
from shipnotify.store import UNREACHABLE
from shipnotify.store.keys import rate_limit_key
from shipnotify.web import ApiError

log = logs.get(__name__)
WINDOW_S = 60


class RateLimit:
    def __init__(
        self,
        redis: Redis,
        per_minute: int,
        *,
        flush_every_s: float = 0.2,
        clock: Callable[[], float] = time.time,  # the windows' clock (a test's, in tests)
    ) -> None:
        self._redis = redis
        self._clock = clock
        self._limit = per_minute
        self._flush_every_s = flush_every_s
        # by (client, window): the requests not yet added to Redis, every instance's count at
        # the last flush, and the clients logged as limited
        self._unflushed: Counter[tuple[str, int]] = Counter()
        self._in_flight: Counter[tuple[str, int]] = Counter()  # sent, Redis's totals not back
        self._counted: dict[tuple[str, int], int] = {}
        self._told: set[tuple[str, int]] = set()

    async def check(self, request: web.Request) -> None:
        """Raises 429 with Retry-After when the caller has used up its window."""
        now = self._clock()
        window = int(now // WINDOW_S)
        client = request.remote or "unknown"  # behind trusted proxies, the one they name
        key = (client, window)
        self._unflushed[key] += 1
        counted = self._counted.get(key, 0) + self._in_flight[key] + self._unflushed[key]
        if counted > self._limit:
            if key not in self._told:  # once a window, not once a request
                self._told.add(key)
                log.warning("client rate limited", client=client, limit=self._limit)
            retry = str(max(1, int((window + 1) * WINDOW_S - now)))
            raise ApiError(
                429,
                "too_many_requests",
                f"at most {self._limit} requests a minute",
                {"client": "rate limited"},
                {"Retry-After": retry},
            )

    async def flush(self) -> None:
        """Adds the requests counted here to Redis and learns every instance's totals."""
        unflushed, self._unflushed = self._unflushed, Counter()
        if not unflushed:
            return
        self._in_flight = unflushed  # still counted by check() until the totals are back
        pipe = self._redis.pipeline(transaction=False)
        for (client, window), n in unflushed.items():
            key = rate_limit_key(client, window)
            pipe.incrby(key, n)
            pipe.expire(key, WINDOW_S * 2)
        try:
            replies = await pipe.execute()
        except UNREACHABLE as e:
            self._unflushed.update(unflushed)  # counted again at the next flush
            log.warning("rate limit counts not written", error=repr(e))
            return
        finally:
            self._in_flight = Counter()
        current = int(self._clock() // WINDOW_S)
        self._counted = {k: v for k, v in self._counted.items() if k[1] == current}
        self._told = {k for k in self._told if k[1] == current}
        self._counted.update(zip(unflushed, replies[::2], strict=True))

    async def flushing(self, app: web.Application) -> AsyncIterator[None]:
        """A cleanup context: flushes every flush_every_s while the app runs."""

        async with loop.every(self._flush_every_s, self.flush):
            yield
        await self.flush()
