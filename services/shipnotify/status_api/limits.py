"""Per-client rate limiting of the public routes: enumeration of tracking ids is impractical,
and one client cannot starve the others. A fixed window per client address in Redis, so
every status_api instance counts together."""

from __future__ import annotations

import time

from aiohttp import web
from redis.asyncio import Redis

from shipnotify.web import ApiError

WINDOW_S = 60


class RateLimit:
    def __init__(self, redis: Redis, per_minute: int) -> None:
        self._redis = redis
        self._limit = per_minute

    async def check(self, request: web.Request) -> None:
        """Raises 429 with Retry-After when the caller has used up its window."""
        now = time.time()
        window = int(now // WINDOW_S)
        key = f"rl:{request.remote or 'unknown'}:{window}"
        pipe = self._redis.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, WINDOW_S * 2)
        count, _ = await pipe.execute()
        if int(count) > self._limit:
            retry = str(max(1, int((window + 1) * WINDOW_S - now)))
            raise ApiError(
                429,
                "too_many_requests",
                f"at most {self._limit} requests a minute",
                {"client": "rate limited"},
                {"Retry-After": retry},
            )
