"""An HTTP deployable's Redis client: one per app, ready before the first request, closed
with the app when the app made it, and answered for by the app's readiness."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from redis.asyncio import Redis

from shipnotify.config import Settings
from shipnotify.store import UNREACHABLE, connect, learn_slots
from shipnotify.web import CHECKS


def client_of(app: web.Application, settings: Settings, *, given: Redis | None = None) -> Redis:
    """`given` (its owner closes it: `shipnotify dev` shares one), or a new client the app
    closes at its end. Either learns the cluster's slots before requests come in together."""
    client = given or connect(settings)

    async def own(app: web.Application) -> AsyncIterator[None]:
        await learn_slots(client)
        yield
        if given is None:
            await client.aclose()

    app.cleanup_ctx.append(own)
    return client


def check_ready(app: web.Application, client: Redis) -> None:
    """The app is ready only while Redis answers."""

    async def ready() -> bool:
        try:
            return bool(await client.ping())
        except UNREACHABLE:
            return False

    app[CHECKS]["redis"] = ready
