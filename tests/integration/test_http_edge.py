"""The HTTP edge, on a real server over a raw socket: requests aiohttp refuses before any
handler (a NUL byte in a header, a garbage request line, an oversized header) get the JSON
error of every other error and one log line without a traceback; HEAD works wherever GET
does."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from structlog.testing import capture_logs

from shipnotify import web
from shipnotify.config import Settings
from shipnotify.devstack.processes import free_port
from shipnotify.status_api import app as status_app
from shipnotify.web.serving import serve
from tests.raw_http import NUL_IN_A_HEADER, exchange

from .conftest import Api, courier, eventually, register, running_tracker, tap, unique


@pytest.fixture
async def port() -> AsyncIterator[int]:
    """The shared routes served as every service serves its app."""
    chosen = free_port()
    async with serve(web.new_app(1024), "127.0.0.1", chosen, shutdown_timeout_s=1):
        yield chosen


BAD_REQUESTS = {
    "NUL in a header": NUL_IN_A_HEADER,
    "garbage request line": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 hello\r\n\r\n",
    "bad Content-Length": b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n",
    "oversized header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
    "oversized request line": b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
}


@pytest.mark.parametrize("request_bytes", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
async def test_a_request_refused_before_any_handler_gets_json_and_one_log_line(
    port: int, request_bytes: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="aiohttp"), capture_logs() as logged:
        status, headers, body = await exchange(port, request_bytes)
    assert status.split()[1] == "400", status
    assert headers["content-type"] == "application/json"
    error = json.loads(body)
    assert error["error"] == "bad_request"
    assert error["fields"] == {"request": error["message"]}
    assert error["message"]
    assert "\n" not in error["message"]
    assert [entry["event"] for entry in logged] == ["request refused before any handler"]
    [line] = logged
    assert (line["log_level"], line["status"], line["client"]) == ("warning", 400, "127.0.0.1")
    assert line["reason"] == error["message"]
    assert "exc_info" not in line
    assert "exception" not in line
    assert caplog.records == []  # aiohttp's own logger, with its traceback, is silent


SECRET = b"sk_live_" + b"s" * 20


@pytest.mark.parametrize(
    ("request_bytes", "problem"),
    [
        (
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + SECRET
            + b"\x00\r\n\r\n",
            "header",
        ),
        (
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + SECRET * 400
            + b"\r\n\r\n",
            "8190 bytes",
        ),
        (b"G\x01T /t/" + SECRET + b" HTTP/1.1\r\nHost: x\r\n\r\n", "method"),
        (b"GET /t/" + SECRET + b" HTTP/1.1 trailing\r\nHost: x\r\n\r\n", "status line"),
    ],
)
async def test_the_reason_names_the_problem_and_not_the_bytes(
    port: int, request_bytes: bytes, problem: str
) -> None:
    with capture_logs() as logged:
        _, _, body = await exchange(port, request_bytes)
    message = json.loads(body)["message"]
    assert problem in message.lower(), message
    assert "sk_live" not in message
    assert "sk_live" not in repr(logged)


async def test_the_server_still_serves_after_refusing(port: int) -> None:
    await exchange(port, BAD_REQUESTS["NUL in a header"])
    status, _, body = await exchange(
        port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert status.startswith("HTTP/1.1 200 ")
    assert json.loads(body) == {"status": "ok", "checks": {}}


# -- HEAD ---------------------------------------------------------------------------------


async def test_head_answers_wherever_get_does_without_a_body(port: int) -> None:
    for path in ("/healthz", "/metrics", "/openapi.json"):
        status, headers, body = await exchange(
            port, f"HEAD {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
        )
        assert status.startswith("HTTP/1.1 200 "), (path, status)
        assert int(headers["content-length"]) > 0, path  # the length the GET would have
        assert body == b"", path


async def test_head_of_a_shipment_gives_its_etag_and_of_an_unknown_one_404(
    api: Api, settings: Settings
) -> None:
    sid = unique("head")
    async with running_tracker(settings):
        tid = await register(api, settings, sid)

        async def known() -> Any:
            resp = await api.get(f"/v1/track/{tid}")
            return resp.headers["ETag"] if resp.status == 200 else None

        etag = await eventually(known)
    resp = await api.head(f"/v1/track/{tid}")
    assert resp.status == 200
    assert resp.headers["ETag"] == etag
    assert await resp.read() == b""
    resp = await api.head(f"/v1/track/{tid}", headers={"If-None-Match": etag})
    assert resp.status == 304
    assert (await api.head(f"/t/{tid}")).status == 200
    assert (await api.head("/v1/track/nosuchtrackingid0000")).status == 404
    async with asyncio.timeout(5):  # a stream's headers, and no stream
        resp = await api.head(f"/v1/track/{tid}/events")
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        assert await resp.read() == b""


async def test_head_of_a_post_only_route_is_405_naming_post(api: Api, settings: Settings) -> None:
    resp = await api.head("/v1/shipments/s-1/events", headers=courier(settings))
    assert resp.status == 405
    assert resp.headers["Allow"] == "POST"
    resp = await api.post("/v1/shipments/s-1/events", json=tap("picked_up"))
    assert resp.status == 401  # the route itself is there


async def test_status_api_alone_serves_head_too(settings: Settings) -> None:
    chosen = free_port()
    app = status_app.init_app(settings)
    async with serve(app, "127.0.0.1", chosen, shutdown_timeout_s=1):
        status, _, body = await exchange(
            chosen,
            b"HEAD /v1/track/nosuchtrackingid0000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
    assert status.startswith("HTTP/1.1 404 ")
    assert body == b""
