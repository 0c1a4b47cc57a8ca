"""Cross-origin requests from one page's origin. The tracking page is served by status_api
at `SHIPNOTIFY_PUBLIC_URL` and posts its push subscriptions to hooks, which may be another
origin (`SHIPNOTIFY_WEBHOOK_URL`), and its answers to the survey's question: the browser
then asks first (a preflight, OPTIONS), and lets the page read an answer only when it names
the page's origin. Exactly that one origin is allowed, on the routes that ask for it. What
to answer is decided without I/O (`CorsRule`); `allow` puts it on an app's routes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web

from shipnotify.web import ApiError

_DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_AGE_S = 600  # how long a browser may keep a preflight's answer


def origin_of(url: str) -> str:
    """The origin a browser names for pages under `url` (RFC 6454): scheme, host and a port
    other than the scheme's own, lower case, no path."""
    parts = urlsplit(url)
    scheme, host, port = parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    if ":" in host:  # an IPv6 address keeps its brackets
        host = f"[{host}]"
    return f"{scheme}://{host}" + (f":{port}" if port and port != _DEFAULT_PORTS[scheme] else "")


@dataclass(frozen=True)
class CorsRule:
    origin: str  # the one origin allowed, as origin_of gives it
    methods: tuple[str, ...]
    headers: tuple[str, ...] = ("content-type",)  # lower case

    def preflight(
        self, origin: str | None, method: str | None, headers: str | None
    ) -> dict[str, str]:
        """The answer's headers to a preflight; ApiError 403 naming what is not allowed."""
        if origin != self.origin:
            raise _refused("Origin", f"only {self.origin} may call this from a browser")
        if method not in self.methods:
            raise _refused("Access-Control-Request-Method", f"one of {', '.join(self.methods)}")
        asked = {h.strip().lower() for h in (headers or "").split(",") if h.strip()}
        if extra := asked - set(self.headers):
            raise _refused("Access-Control-Request-Headers", f"not allowed: {', '.join(extra)}")
        return {
            "Access-Control-Allow-Origin": self.origin,
            "Access-Control-Allow-Methods": ", ".join(self.methods),
            "Access-Control-Allow-Headers": ", ".join(self.headers),
            "Access-Control-Max-Age": str(MAX_AGE_S),
            "Vary": "Origin",
        }

    def answer(self, origin: str | None) -> dict[str, str]:
        """The headers of the answer to the request itself (an error's too, so that the
        page can read why): the browser shows it to the page only when they name its
        origin."""
        if origin == self.origin:
            return {"Access-Control-Allow-Origin": self.origin, "Vary": "Origin"}
        return {"Vary": "Origin"}


def _refused(header: str, reason: str) -> ApiError:
    return ApiError(403, "cors_refused", f"{header}: {reason}", {header: reason})


RULES = web.AppKey("cors_rules", dict[str, CorsRule])  # by route template


def allow(app: web.Application, rule: CorsRule, paths: Sequence[str]) -> None:
    """Answers the requests to `paths` (route templates) with the rule's headers. Their
    preflights are answered by `preflight`, which their route table names for OPTIONS.
    Called again, it adds more paths (each with its own rule)."""
    if RULES not in app:
        app[RULES] = {}
        app.on_response_prepare.append(_add_headers)
    app[RULES].update(dict.fromkeys(paths, rule))


async def _add_headers(request: web.Request, response: web.StreamResponse) -> None:
    rule = _rule_of(request)
    if rule is None or request.method == "OPTIONS":
        return
    for name, value in rule.answer(request.headers.get("Origin")).items():
        if name == "Vary" and "Vary" in response.headers:
            value = f"{response.headers['Vary']}, {value}"
        response.headers[name] = value


def _rule_of(request: web.Request) -> CorsRule | None:
    resource = request.match_info.route.resource
    return None if resource is None else request.app[RULES].get(resource.canonical)


async def preflight(request: web.Request) -> web.Response:
    rule = _rule_of(request)
    if rule is None:  # a route table named preflight for a path no rule covers
        raise ApiError(403, "cors_refused", "no cross-origin request may reach this path")
    headers = rule.preflight(
        request.headers.get("Origin"),
        request.headers.get("Access-Control-Request-Method"),
        request.headers.get("Access-Control-Request-Headers"),
    )
    return web.Response(status=204, headers=headers)
