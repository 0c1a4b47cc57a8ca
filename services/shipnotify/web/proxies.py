"""The client's address behind reverse proxies.

A request that comes from a trusted proxy (SHIPNOTIFY_TRUSTED_PROXIES, CIDRs; none by
default) names its client in `X-Forwarded-For` or, failing that, RFC 7239 `Forwarded`. Each
proxy appends the address it received the request from, so the list is read from the right:
the first address that is not a trusted proxy is the client. Anything left of it was written
by the client itself and is ignored, and so is the header of a peer that is not trusted.

X-Forwarded-For is read first because most proxies write it and few drop a `Forwarded` a
client sent: preferring `Forwarded` would let a client behind such a proxy name itself. A
proxy that writes only `Forwarded` must drop X-Forwarded-For.

The app's middleware puts the address in `request.remote`, so that the rate limit and every
log line that names a client see the same one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network


def networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ip_network(c, strict=False) for c in cidrs)


def client_address(peer: str | None, hops: Sequence[str], trusted: Sequence[Network]) -> str | None:
    """The client of a request from `peer` whose proxies wrote `hops` (the addresses of
    X-Forwarded-For or of Forwarded's `for=`, left to right)."""
    peer_ip = parse(peer or "")
    if peer_ip is None or not _within(peer_ip, trusted):
        return peer
    client = peer_ip
    for hop in reversed(hops):
        ip = parse(hop)
        if ip is None:  # `unknown` or an obfuscated name: the proxy that wrote it is all we know
            break
        client = ip
        if not _within(ip, trusted):
            break
    return str(client)


def parse(value: str) -> Address | None:
    """An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1` or
    `[2001:db8::1]:4711` (the quotes of a Forwarded value already gone); None otherwise."""
    host = value.strip()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else ""
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    try:
        ip = ip_address(host)
    except ValueError:
        return None
    if isinstance(ip, IPv6Address) and ip.ipv4_mapped:  # a dual-stack socket's IPv4 peer
        return ip.ipv4_mapped
    return ip


def hops_of(request: web.BaseRequest) -> list[str]:
    if hdrs.X_FORWARDED_FOR in request.headers:
        joined = ",".join(request.headers.getall(hdrs.X_FORWARDED_FOR))
        return [part for part in joined.split(",") if part.strip()]
    # aiohttp parses RFC 7239 (quoted strings, several headers); an element without `for`
    # names no one, and stops the walk like `unknown` does.
    return [element.get("for", "") for element in request.forwarded]


def middleware(trusted_cidrs: Iterable[str]) -> Middleware | None:
    """Puts the client's address in `request.remote`; None when no proxy is trusted."""
    trusted = networks(trusted_cidrs)
    if not trusted:
        return None

    @web.middleware
    async def forwarded_client(request: web.Request, handler: Handler) -> web.StreamResponse:
        client = client_address(request.remote, hops_of(request), trusted)
        if client is not None and client != request.remote:
            request = request.clone(remote=client)
        return await handler(request)

    return forwarded_client


def _within(ip: Address, trusted: Sequence[Network]) -> bool:
    return any(ip in net for net in trusted)
