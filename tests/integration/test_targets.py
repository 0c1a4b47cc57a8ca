"""Safe targets against real name resolution and a real server on loopback: `check`
resolves the host, and SafeResolver refuses a loopback address at the connection unless
loopback is allowed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from shipnotify.targets import SafeResolver, Unsafe, check

pytestmark = pytest.mark.redis_agnostic


@pytest.fixture
async def server() -> AsyncIterator[int]:
    app = web.Application()

    async def hook(_: web.Request) -> web.Response:
        return web.Response(status=204)

    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield port
    finally:
        await runner.cleanup()


async def test_check_refuses_a_name_that_resolves_to_loopback() -> None:
    with pytest.raises(Unsafe) as refused:
        await check("https://localhost/hook", allow_loopback=False)
    assert "localhost resolves to" in refused.value.reason
    assert "loopback" in refused.value.reason
    await check("http://localhost/hook", allow_loopback=True)


async def test_check_refuses_a_name_that_does_not_resolve() -> None:
    with pytest.raises(Unsafe, match="does not resolve"):
        await check("https://nowhere.invalid/hook", allow_loopback=False)


async def test_the_resolver_refuses_loopback_unless_allowed() -> None:
    refusing = SafeResolver(allow_loopback=False)
    with pytest.raises(Unsafe, match="loopback"):
        await refusing.resolve("127.0.0.1", 80)
    with pytest.raises(Unsafe, match="loopback"):
        await refusing.resolve("localhost", 80)
    await refusing.close()
    allowing = SafeResolver(allow_loopback=True)
    (found,) = await allowing.resolve("127.0.0.1", 80)
    assert found["host"] == "127.0.0.1"
    await allowing.close()


@pytest.mark.parametrize("allow_loopback", [False, True])
async def test_a_session_reaches_loopback_only_when_allowed(
    server: int, allow_loopback: bool
) -> None:
    connector = aiohttp.TCPConnector(resolver=SafeResolver(allow_loopback=allow_loopback))
    async with aiohttp.ClientSession(connector=connector) as session:
        url = f"http://localhost:{server}/hook"
        if allow_loopback:
            async with session.post(url, data=b"{}") as answer:
                assert answer.status == 204
        else:
            with pytest.raises(aiohttp.ClientConnectorError) as refused:
                await session.post(url, data=b"{}")
            assert isinstance(refused.value.os_error, Unsafe)
            assert "loopback" in refused.value.os_error.reason
