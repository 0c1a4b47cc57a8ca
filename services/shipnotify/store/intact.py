"""Whether Redis still holds what the services wrote: a marker key, set on a first start
and by `shipnotify rebuild`. Redis restarted empty has no marker; the consumers then hold
their offsets (no commit, nothing applied or sent) until the state is rebuilt from Kafka."""

from __future__ import annotations

import asyncio
import contextlib
import time

from redis.asyncio import Redis

from shipnotify import kafka, logs
from shipnotify.config import Settings
from shipnotify.store.keys import STORE_MARKER as MARKER

log = logs.get(__name__)


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


async def wait_until_intact(
    redis: Redis, settings: Settings, group: str, topic: str, stop: asyncio.Event
) -> bool:
    """At start: a marked store goes; an empty one is new if our group has never committed
    (then marked), else lost, and we wait for the rebuild. False when asked to stop first."""
    while not stop.is_set():
        if await intact(redis):
            return True
        if not await kafka.committed(settings, group, topic):
            await mark(redis)
            return True
        log.error(str(StoreLost()), group=group)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 2.0)
    return False
