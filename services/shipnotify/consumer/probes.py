"""The HTTP side of the consumer services (tracker, notifier): liveness, readiness and
metrics on SHIPNOTIFY_HTTP_PORT, for the orchestrator's probes and for Prometheus."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from redis.exceptions import RedisError

from shipnotify import kafka
from shipnotify import web as sweb
from shipnotify.config import ConfigError, Settings
from shipnotify.store import connect
from shipnotify.web.serving import CannotListen, serve


def init_app(settings: Settings) -> web.Application:
    # /healthz, /readyz, /metrics, /openapi.json
    app = sweb.new_app(max_body_bytes=1024, trusted_proxies=settings.trusted_proxies)
    redis = connect(settings)

    async def redis_ready() -> bool:
        try:
            return bool(await redis.ping())
        except (RedisError, OSError):
            return False

    async def close_redis(app: web.Application) -> AsyncIterator[None]:
        yield
        await redis.aclose()

    app[sweb.CHECKS]["kafka"] = lambda: kafka.reachable(settings)
    app[sweb.CHECKS]["redis"] = redis_ready
    app.cleanup_ctx.append(close_redis)
    return app


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[None]:
    try:
        async with serve(init_app(settings), settings.http_host, settings.http_port):
            yield
    except CannotListen as e:
        raise ConfigError(
            f"{e} for health and metrics; set SHIPNOTIFY_HTTP_PORT to a free port"
        ) from None
