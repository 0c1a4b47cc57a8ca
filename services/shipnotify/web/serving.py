"""Serving an app on a port, with the answer to the requests aiohttp rejects itself.

aiohttp (3.x) answers a request it cannot parse (a NUL byte in a header, a garbage request
line, a header over its size limit) before any handler or middleware runs, in
`RequestHandler.handle_error`: a text/plain body and a traceback in the log. No setting or
signal reaches that answer; aiohttp 4 will send it through the middleware instead (aiohttp
issue 3287). Until then the connections of our runner override that one method, so these
requests get the JSON error body of every other error and one log line without a traceback.
"""

from __future__ import annotations

import gc
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from shipnotify import logs
from shipnotify.web import ApiError, error_response

log = logs.get(__name__)


class _Connection(RequestHandler):
    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:  # as aiohttp: an answer has begun, none can follow
            raise ConnectionError("a response is sent already; cannot send the error")
        phrase = HTTPStatus(status).phrase
        reason = _problem(message or "") or phrase
        if status >= 500:
            log.error(
                "request failed outside its handler",
                status=status,
                client=request.remote,
                exc_info=exc,
            )
        else:
            log.warning(
                "request refused before any handler",
                status=status,
                reason=reason,
                client=request.remote,
            )
        response = error_response(
            ApiError(status, phrase.lower().replace(" ", "_"), reason, {"request": reason})
        )
        response.force_close()
        return response


def _problem(message: str) -> str:
    """What the parser found wrong, without the bytes it quotes after a colon or in quotes
    (`Invalid header value char:\\n b'...'`, `Bad status line '...'`): those can hold a
    token or a personal detail, and they go to the log."""
    first = message.split("\n", 1)[0]
    return re.split(r"[:'\"]", first, maxsplit=1)[0].strip()[:100]


class _Server(web.Server):
    def __call__(self) -> RequestHandler:
        return _Connection(self, loop=self._loop, **self._kwargs)


class Runner(web.AppRunner):
    """An AppRunner whose connections answer as above."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # The app made the Server (request factory, handler args); only the connections it
        # makes differ, so its class is changed rather than the app's private setup repeated.
        server.__class__ = _Server
        return server


class CannotListen(Exception):
    """The port cannot be had; the message says why (in use, not allowed)."""


@asynccontextmanager
async def serve(
    app: web.Application, host: str, port: int, *, shutdown_timeout_s: float = 60.0
) -> AsyncIterator[Runner]:
    """Serves `app` on host:port until the block ends, then stops it gracefully (requests
    in flight get up to `shutdown_timeout_s`)."""
    runner = Runner(app, access_log=None, shutdown_timeout=shutdown_timeout_s)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as e:
            raise CannotListen(f"cannot listen on {host}:{port} ({e.strerror})") from None
        # What is loaded by now (modules, templates, catalogs) lives as long as the process:
        # kept out of the collector's full passes, which otherwise stall a request ~80 ms
        gc.freeze()
        yield runner
    finally:
        await runner.cleanup()
