"""An unreadable reply to a survey gets one help reply at most: the first such reply claims
it (SET NX), for as long as the survey takes answers. Keys: keys.survey_help_key."""

from __future__ import annotations

from redis.asyncio import Redis

from shipnotify.store.keys import survey_help_key


class SurveyHelp:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def first(self, survey_id: str, ttl_ms: int) -> bool:
        """Whether this is the survey's first unreadable reply (it gets the help reply);
        the claim lasts `ttl_ms` (the rest of the survey's window, at least 1 ms)."""
        return bool(
            await self._redis.set(survey_help_key(survey_id), 1, nx=True, px=max(ttl_ms, 1))
        )
