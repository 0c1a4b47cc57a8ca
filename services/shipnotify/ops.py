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


def init_app(settings: Settings) -> web.Application:
    app = sweb.new_app(max_body_bytes=1024)  # /healthz, /readyz, /metrics, /openapi.json
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
    runner = web.AppRunner(init_app(settings), access_log=None)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, settings.http_host, settings.http_port).start()
        except OSError as e:
            raise ConfigError(
                f"cannot listen on {settings.http_host}:{settings.http_port} for health and"
                f" metrics ({e.strerror}); set SHIPNOTIFY_HTTP_PORT to a free port"
            ) from None
        yield
    finally:
        await runner.cleanup()
