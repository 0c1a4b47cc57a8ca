"""HTTP bytes over a raw socket: for requests no HTTP client would send."""

from __future__ import annotations

import asyncio

# A NUL byte in a header value: refused by aiohttp's parser before any handler.
NUL_IN_A_HEADER = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\x00b\r\n\r\n"


async def exchange(port: int, request: bytes) -> tuple[str, dict[str, str], bytes]:
    """Sends raw bytes to 127.0.0.1:port; returns the status line, headers (names in lower
    case) and body of the answer, read until the server closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(5):
            answer = await reader.read()
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return status, headers, body
