"""Many notices' commands in shared round trips (store/round_trips.py), against a real
redis-server: each caller gets its own answers, an error only its own caller, and a script
Redis forgot is loaded and run once."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import ResponseError

from shipnotify.store.round_trips import RoundTrips

# A cluster client pipelines no scripts, so RoundTrips serves one Redis only; on a cluster
# each notice makes its own pipeline, which the notices' own tests cover in the cluster pass.
pytestmark = pytest.mark.redis_agnostic

COUNT = "local n = redis.call('INCR', KEYS[1]) return n"


async def test_each_caller_gets_its_own_answers(redis: Redis) -> None:
    trips = RoundTrips(redis, [])
    key = "rt:" + uuid.uuid4().hex

    async def one(n: int) -> list[object]:
        def commands(pipe: Pipeline) -> None:
            pipe.hset(key, str(n), n)
            pipe.hget(key, str(n))

        return await trips.run(commands)

    answers = await asyncio.gather(*(one(n) for n in range(100)))
    assert answers == [[1, str(n).encode()] for n in range(100)]
    await redis.delete(key)


async def test_an_error_is_its_callers_alone(redis: Redis) -> None:
    trips = RoundTrips(redis, [])
    key = "rt:" + uuid.uuid4().hex
    await redis.set(key, "text")

    def wrong(pipe: Pipeline) -> None:
        pipe.hget(key, "f")  # not a hash

    def right(pipe: Pipeline) -> None:
        pipe.get(key)

    results = await asyncio.gather(trips.run(wrong), trips.run(right), return_exceptions=True)
    assert isinstance(results[0], ResponseError)
    assert results[1] == [b"text"]
    await redis.delete(key)


async def test_a_forgotten_script_is_loaded_and_runs_once(redis: Redis) -> None:
    script = redis.register_script(COUNT)
    trips = RoundTrips(redis, [script])
    key = "rt:" + uuid.uuid4().hex
    await redis.script_flush()

    def count(pipe: Pipeline) -> None:
        pipe.evalsha(script.sha, 1, key)

    first, second = await asyncio.gather(trips.run(count), trips.run(count))
    assert sorted([*first, *second]) == [1, 2]
    assert await redis.get(key) == b"2"
    await redis.delete(key)
