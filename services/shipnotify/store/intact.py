"""Whether Redis still holds what the services wrote: a marker key, set on a first start
and by `shipnotify rebuild`. Redis restarted empty has no marker; the consumers then hold
their offsets (no commit, nothing applied or sent) until the state is rebuilt from Kafka
(consumer/startup.py waits for it)."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from shipnotify.store.keys import STORE_MARKER as MARKER


class StoreLost(Exception):
    """Redis came back without our data: `shipnotify rebuild` restores it from Kafka."""

    def __init__(self) -> None:
        super().__init__("Redis has lost the tracking state: run `shipnotify rebuild`")


async def intact(redis: Redis) -> bool:
    return bool(await redis.exists(MARKER))


async def check(redis: Redis) -> None:
    if not await intact(redis):
        raise StoreLost


async def mark(redis: Redis) -> None:
    await redis.set(MARKER, str(int(time.time())))
