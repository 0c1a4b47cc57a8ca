"""Safe targets for webhooks: a business customer's endpoint URL must be https and reach
only public addresses, never our own machine, our network or a cloud's metadata service.

`check` is asked when an endpoint is registered or its URL changes (it resolves the host:
every address it has must be public). `SafeResolver` is the webhook session's resolver: it
drops unsafe addresses at each connection, so a name that resolved to a public address at
registration and to a private one since (DNS rebinding) reaches nothing. aiohttp does not
ask a resolver about an IP literal, so the sender checks the URL itself (`check_url`).
`allow_loopback` (the local stack and tests only) lets http and loopback addresses through.
"""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

Address = IPv4Address | IPv6Address

# Not covered by ipaddress's is_private (it is neither private nor global): RFC 6598.
CGNAT = ip_network("100.64.0.0/10")
# The cloud metadata service (link-local, but named so that its refusal says so).
METADATA = ip_address("169.254.169.254")


class Unsafe(OSError):
    """An endpoint URL that must not be called; `reason` says why, for the user. An OSError,
    so that aiohttp reports a refusal by SafeResolver as a connection error."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def refusal(address: Address, *, allow_loopback: bool) -> str | None:
    """Why a request must not go to this address; None if it is public."""
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return refusal(address.ipv4_mapped, allow_loopback=allow_loopback)
    if address.is_loopback:
        return None if allow_loopback else f"{address} is a loopback address"
    if address == METADATA:
        return f"{address} is the metadata service"
    if isinstance(address, IPv4Address) and address in CGNAT:
        return f"{address} is a shared (CGNAT) address"
    named = {
        "link-local": address.is_link_local,
        "multicast": address.is_multicast,
        "unspecified": address.is_unspecified,
        "reserved": address.is_reserved,
        "site-local": isinstance(address, IPv6Address) and address.is_site_local,
        "private": address.is_private,
    }
    for name, yes in named.items():
        if yes:
            return f"{address} is a {name} address"
    if not address.is_global:
        return f"{address} is not a public address"
    return None


def check_url(url: str, *, allow_loopback: bool) -> tuple[str, int]:
    """The URL's host and port, if its scheme is allowed and its host is a name or a safe
    address; Unsafe if not. No I/O: a name's addresses are `check`'s (or the resolver's)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise Unsafe(f"not a URL: {e}") from None
    schemes = ("https", "http") if allow_loopback else ("https",)
    if parts.scheme not in schemes:
        raise Unsafe("the URL must be https")
    host = parts.hostname
    if not host:
        raise Unsafe("the URL has no host")
    try:
        literal = ip_address(host)
    except ValueError:
        literal = None
    if literal is not None and (reason := refusal(literal, allow_loopback=allow_loopback)):
        raise Unsafe(reason)
    if literal is None and not _a_name(host):
        raise Unsafe("the host is not a valid name")
    return host, port or (443 if parts.scheme == "https" else 80)


def _a_name(host: str) -> bool:
    """A host name the resolver can take: IDNA labels of 1 to 63 bytes, 253 in all."""
    try:
        encoded = host.encode("idna")
    except UnicodeError:  # an empty or overlong label, or characters IDNA refuses
        return False
    return len(encoded) <= 253


async def check(url: str, *, allow_loopback: bool) -> None:
    """Unsafe unless the URL is https (or http, with allow_loopback) and every address its
    host resolves to (A and AAAA) is public."""
    host, port = check_url(url, allow_loopback=allow_loopback)
    resolver = ThreadedResolver()
    try:
        found = await resolver.resolve(host, port, family=socket.AF_UNSPEC)
    except OSError:
        raise Unsafe(f"{host} does not resolve") from None
    finally:
        await resolver.close()
    for result in found:
        if reason := refusal(ip_address(result["host"]), allow_loopback=allow_loopback):
            raise Unsafe(f"{host} resolves to {reason}")


class SafeResolver(AbstractResolver):
    """aiohttp's resolver for webhook sessions: the addresses of a name without the unsafe
    ones, at every connection; Unsafe (a connection error) if none is left."""

    def __init__(self, *, allow_loopback: bool, inner: AbstractResolver | None = None) -> None:
        self._allow_loopback = allow_loopback
        self._inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if self._inner is None:  # made in the running loop, on first use
            self._inner = ThreadedResolver()
        found = await self._inner.resolve(host, port, family)
        reasons = [
            refusal(ip_address(r["host"]), allow_loopback=self._allow_loopback) for r in found
        ]
        safe = [r for r, reason in zip(found, reasons, strict=True) if reason is None]
        if not safe:
            said = reasons[0] if reasons else "no address"
            raise Unsafe(f"{host} resolves to {said}")
        return safe

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.close()
