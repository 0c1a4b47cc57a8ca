"""Tracking state in Redis: the key scheme, the apply script and the reads."""

import contextlib
from typing import cast

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError

from shipnotify.config import Settings
from shipnotify.store.tracking import Applied, Shipment, TrackingStore

__all__ = ["UNREACHABLE", "Applied", "Shipment", "TrackingStore", "connect", "learn_slots"]

# What a client raises when Redis does not answer. A cluster client that reaches no node
# raises RedisClusterException, which is not a RedisError.
UNREACHABLE = (RedisError, RedisClusterException, OSError)


def connect(settings: Settings) -> Redis:
    """A client whose callers wait their turn for a connection in a burst, instead of
    failing with "too many connections". On a Redis Cluster, a cluster client: every key of
    a shipment shares its hash tag, and no call spans two slots."""
    if settings.redis_cluster:
        cluster = RedisCluster.from_url(
            settings.redis_url, max_connections=settings.redis_max_connections
        )
        return cast(Redis, cluster)  # it offers every command the services use
    pool = BlockingConnectionPool.from_url(
        settings.redis_url, max_connections=settings.redis_max_connections, timeout=10
    )
    return Redis.from_pool(pool)  # closing the client closes the pool


async def learn_slots(redis: Redis) -> None:
    """A cluster client reads the slot map before its first burst of commands. redis-py's
    async cluster client sends a command issued before it knows the map to a random node;
    after five MOVED replies it closes every connection, those of commands in flight too.
    Unreachable now, it learns the map at its first command, as it would have."""
    if isinstance(redis, RedisCluster):
        with contextlib.suppress(*UNREACHABLE):
            await redis.initialize()
