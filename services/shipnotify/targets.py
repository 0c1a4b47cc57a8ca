"""Safe webhook targets: a URL may be called only if it is https (http too where loopback is
allowed, for the local stack and tests) and every address its host resolves to is public.

A minimal version with the contract's `check` signature; the webhooks work brings the full
module (the per-connection resolver and every range the contract names)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class Unsafe(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def check(url: str, *, allow_loopback: bool) -> None:
    """Raises Unsafe(reason) for a URL a webhook must not be sent to."""
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_loopback else ("https",)
    if parts.scheme not in schemes:
        raise Unsafe("must be an https URL")
    if not parts.hostname:
        raise Unsafe("has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, port, type=socket.SOCK_STREAM
        )
    except (OSError, ValueError) as e:
        raise Unsafe(f"its host does not resolve: {e}") from None
    for *_, address in found:
        ip = ipaddress.ip_address(str(address[0]).split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if ip.is_loopback and allow_loopback:
            continue
        if not ip.is_global or ip.is_multicast:
            raise Unsafe(f"its host resolves to a non-public address ({ip})")
