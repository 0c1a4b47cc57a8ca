"""Each service is ready when what it needs to serve answers, and only then: status_api
serves without Kafka, ingest takes taps without Redis, hooks and the consumers need both."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from shipnotify.config import Settings
from shipnotify.consumer import probes as ops
from shipnotify.devstack.processes import free_port
from shipnotify.hooks import app as hooks_app
from shipnotify.ingest import app as ingest_app
from shipnotify.status_api import app as status_app

from .conftest import eventually


def nowhere() -> str:
    return f"127.0.0.1:{free_port()}"  # a port nothing listens on


async def readiness(app: web.Application) -> tuple[int, dict[str, Any]]:
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/readyz")
        return resp.status, (await resp.json())["checks"]


async def test_status_api_is_ready_without_kafka(settings: Settings) -> None:
    no_kafka = settings.with_(kafka_bootstrap=nowhere())
    assert await readiness(status_app.init_app(no_kafka)) == (200, {"redis": True})


@pytest.mark.parametrize("cluster", [False, True], ids=["redis-server", "cluster"])
async def test_status_api_is_not_ready_without_redis(settings: Settings, cluster: bool) -> None:
    """It starts and says so, on a Redis Cluster too: a cluster client that reaches no node
    raises an error that is not a RedisError, which once stopped the app at start."""
    no_redis = settings.with_(redis_url=f"redis://{nowhere()}/0", redis_cluster=cluster)
    assert await readiness(status_app.init_app(no_redis)) == (503, {"redis": False})


async def test_hooks_need_redis_and_kafka(settings: Settings) -> None:
    """Its receipts and replies need Redis; the tracking page's push subscriptions, Kafka."""
    no_kafka = settings.with_(kafka_bootstrap=nowhere())
    assert await readiness(hooks_app.init_app(no_kafka)) == (503, {"kafka": False, "redis": True})
    no_redis = settings.with_(redis_url=f"redis://{nowhere()}/0", redis_cluster=False)
    async with TestClient(TestServer(hooks_app.init_app(no_redis))) as client:

        async def connected() -> bool:  # its producer connects in the background
            return bool((await (await client.get("/readyz")).json())["checks"]["kafka"])

        await eventually(connected)
        resp = await client.get("/readyz")
        assert (resp.status, (await resp.json())["checks"]) == (
            503,
            {"kafka": True, "redis": False},
        )
    async with TestClient(TestServer(hooks_app.init_app(settings))) as client:

        async def ready() -> bool:
            return (await client.get("/readyz")).status == 200

        await eventually(ready)


async def test_ingest_is_ready_without_redis(settings: Settings) -> None:
    no_redis = settings.with_(redis_url=f"redis://{nowhere()}/0", redis_cluster=False)
    async with TestClient(TestServer(ingest_app.init_app(no_redis))) as client:

        async def ready() -> bool:
            return (await client.get("/readyz")).status == 200

        await eventually(ready)
        assert (await (await client.get("/readyz")).json())["checks"] == {"kafka": True}


async def test_the_consumers_need_kafka_and_redis(settings: Settings) -> None:
    assert await readiness(ops.init_app(settings)) == (200, {"kafka": True, "redis": True})
    no_kafka = settings.with_(kafka_bootstrap=nowhere())
    assert await readiness(ops.init_app(no_kafka)) == (503, {"kafka": False, "redis": True})
