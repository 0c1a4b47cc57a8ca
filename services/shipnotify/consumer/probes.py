"""The HTTP side of the consumer services (tracker, notifier): liveness, readiness and
metrics on SHIPNOTIFY_HTTP_PORT, for the orchestrator's probes and for Prometheus."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from shipnotify import kafka
from shipnotify import web as sweb
from shipnotify.config import ConfigError, Settings
from shipnotify.web import redis as sredis
from shipnotify.web.serving import CannotListen, serve


def init_app(settings: Settings) -> web.Application:
    # /healthz, /readyz, /metrics, /openapi.json
    app = sweb.new_app(max_body_bytes=1024, trusted_proxies=settings.trusted_proxies)
    sredis.check_ready(app, sredis.client_of(app, settings))
    app[sweb.CHECKS]["kafka"] = lambda: kafka.reachable(settings)
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
