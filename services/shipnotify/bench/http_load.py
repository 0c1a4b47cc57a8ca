"""Keep-alive HTTP load from a process of its own, and the bare aiohttp handler the status
API is compared with. Run as `python -m shipnotify.bench.http_load hit|bare ...`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from shipnotify import loop


async def hit(
    base: str, targets: list[tuple[str, str]], seconds: float, connections: int
) -> dict[str, Any]:
    """GETs the targets' paths (each with If-None-Match: its ETag, unless empty) round and
    round over `connections` keep-alive connections for `seconds`; counts the answers."""
    parts = urlsplit(base)
    requests = [
        (
            f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            + (f"If-None-Match: {etag}\r\n" if etag else "")
            + "\r\n"
        ).encode()
        for path, etag in targets
    ]
    statuses: Counter[int] = Counter()
    deadline = time.monotonic() + seconds

    async def one(start: int) -> None:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            n = start
            while time.monotonic() < deadline:
                writer.write(requests[n % len(requests)])
                n += 1
                header = await reader.readuntil(b"\r\n\r\n")
                statuses[int(header[9:12])] += 1
                length = _content_length(header)
                if length:
                    await reader.readexactly(length)
        finally:
            writer.close()

    t0 = time.monotonic()
    spread = max(1, len(requests) // connections)
    await asyncio.gather(*(one(i * spread) for i in range(connections)))
    elapsed = time.monotonic() - t0
    return {"seconds": elapsed, "statuses": dict(statuses), "rate": statuses.total() / elapsed}


def _content_length(header: bytes) -> int:
    at = header.lower().find(b"content-length:")
    if at < 0:
        return 0
    return int(header[at + 15 : header.index(b"\r\n", at)])


BODY = {
    "tracking_id": "T" * 20,
    "lang": "en",
    "status": "delivered",
    "label": "Delivered",
    "final": True,
    "status_at": "2026-11-23T10:00:00Z",
    "timeline": [{"status": "registered", "label": "Registered"}] * 6,
}


BARE_ETAG = 'W/"1-en"'


def bare_app() -> web.Application:
    """One handler with the status API's contract and none of its work: the ETag compared,
    a 304, or a small JSON body."""
    body = json.dumps(BODY).encode()

    async def track(request: web.Request) -> web.Response:
        etag = BARE_ETAG
        headers = {"ETag": etag, "Cache-Control": "no-cache", "Vary": "Accept-Language"}
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, content_type="application/json", headers=headers)

    app = web.Application()
    app.router.add_get("/v1/track/{tracking_id}", track)
    return app


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m shipnotify.bench.http_load")
    sub = p.add_subparsers(dest="what", required=True)
    h = sub.add_parser("hit", help="targets as JSON on stdin: [[path, etag], ...]")
    h.add_argument("base", help="http://host:port")
    h.add_argument("--seconds", type=float, default=5.0)
    h.add_argument("--connections", type=int, default=32)
    b = sub.add_parser("bare")
    b.add_argument("port", type=int)
    args = p.parse_args()
    if args.what == "bare":
        web.run_app(
            bare_app(),
            host="127.0.0.1",
            port=args.port,
            print=None,
            access_log=None,
            loop=loop.new(),
        )
        return
    targets = [(path, etag) for path, etag in json.load(sys.stdin)]
    result = loop.run(hit(args.base, targets, args.seconds, args.connections))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
