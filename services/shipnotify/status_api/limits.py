"""Per-client rate limiting of the public routes: enumeration of tracking ids is impractical,
and one client cannot starve the others. A fixed window per client address, counted in Redis
so that every status_api instance counts together.

Requests are counted here first and added to Redis a few times a second in one round trip,
rather than one round trip per request (which cost more than the lookup it guards). An
instance sees the others' counts as of its last flush, so a client can exceed its limit by
what it sends to the other instances in one flush interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator

from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from shipnotify import logs
from shipnotify.web import ApiError

log = logs.get(__name__)
WINDOW_S = 60


class RateLimit:
    def __init__(self, redis: Redis, per_minute: int, *, flush_every_s: float = 0.2) -> None:
        self._redis = redis
        self._limit = per_minute
        self._flush_every_s = flush_every_s
        self._unflushed: Counter[str] = Counter()  # key -> requests not yet added to Redis
        self._counted: dict[str, int] = {}  # key -> every instance's count at the last flush
        self._told: set[str] = set()  # keys whose client was logged as limited, this window

    async def check(self, request: web.Request) -> None:
        """Raises 429 with Retry-After when the caller has used up its window."""
        now = time.time()
        window = int(now // WINDOW_S)
        client = request.remote or "unknown"  # behind trusted proxies, the one they name
        key = f"rl:{client}:{window}"
        self._unflushed[key] += 1
        if self._counted.get(key, 0) + self._unflushed[key] > self._limit:
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
        pipe = self._redis.pipeline(transaction=False)
        for key, n in unflushed.items():
            pipe.incrby(key, n)
            pipe.expire(key, WINDOW_S * 2)
        try:
            replies = await pipe.execute()
        except RedisError as e:
            self._unflushed.update(unflushed)  # counted again at the next flush
            log.warning("rate limit counts not written", error=repr(e))
            return
        window = f":{int(time.time() // WINDOW_S)}"
        self._counted = {k: v for k, v in self._counted.items() if k.endswith(window)}
        self._told = {k for k in self._told if k.endswith(window)}
        self._counted.update(zip(unflushed, replies[::2], strict=True))

    async def flushing(self, app: web.Application) -> AsyncIterator[None]:
        """A cleanup context: flushes every flush_every_s while the app runs."""

        async def loop() -> None:
            while True:
                await asyncio.sleep(self._flush_every_s)
                await self.flush()

        task = asyncio.create_task(loop())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await self.flush()
