"""A local stand-in for a browser's push service (RFC 8030), served on a loopback port so the
real `pywebpush` library can send to it.

    async with PushSandbox().running() as push:
        subscription = push.subscribe()  # what PushManager.subscribe() hands a page
        await webpush_async(subscription, data, vapid_private_key=key, vapid_claims=claims)
        push.messages[0].payload

`subscribe()` (or `POST /_sandbox/subscriptions`) makes a subscription as a browser does: a
P-256 key pair and an auth secret, the private key kept here. A push (`POST /push/{id}`) is
taken only as the browsers' push services take it (the checks: `push_request.py`): a valid
VAPID authorization, a TTL header, an aes128gcm body it decrypts; it is answered 201 with the
message's Location, and kept, decrypted, in `messages`. Faults are injected from Python
(`fail_next`, `fail_for`, `unsubscribe`) or over HTTP (`POST /_sandbox/faults`,
`POST /_sandbox/subscriptions/{id}/gone`).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Self

import orjson
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import BaseModel, Field, model_validator

from shipnotify import web as sweb
from shipnotify.devstack import push_request
from shipnotify.devstack.faults import Faults
from shipnotify.devstack.push_request import Refused

LOOPBACK = "127.0.0.1"
# What a push service answers besides success: a gone or unknown subscription, its rate
# limit, its own failures.
FAULT_STATUSES = frozenset({404, 410, 429, *range(500, 600)})
_RETRY_AFTER_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class PushMessage:
    """One push message the sandbox took, decrypted."""

    id: str
    endpoint: str
    subscription_id: str
    payload: str  # the plaintext as UTF-8 (an undecodable byte shows as U+FFFD)
    payload_json: Any  # the payload parsed, when it is JSON; else None
    ttl: int
    urgency: str | None
    topic: str | None
    received_at: datetime
    vapid_sub: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.received_at.isoformat(),
            "endpoint": self.endpoint,
            "subscription_id": self.subscription_id,
            "payload": self.payload,
            "json": self.payload_json,
            "ttl": self.ttl,
            "urgency": self.urgency,
            "topic": self.topic,
            "vapid_sub": self.vapid_sub,
        }


@dataclass(frozen=True)
class _Subscription:
    id: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes
    server_key: bytes | None  # the applicationServerKey it was made with, if any

    def to_json(self) -> dict[str, Any]:
        """The W3C PushSubscription's JSON, as a page hands it to its server."""
        public = self.private_key.public_key().public_bytes(
            Encoding.X962, PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {
                "p256dh": push_request.to_b64url(public),
                "auth": push_request.to_b64url(self.auth_secret),
            },
        }


class _NewSubscription(BaseModel):
    application_server_key: str | None = Field(default=None, alias="applicationServerKey")


class _FaultSpec(BaseModel):
    status: int
    count: int | None = Field(default=None, ge=1)
    seconds: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if self.count is not None and self.seconds is not None:
            raise ValueError("give count or seconds, not both")
        return self


class PushSandbox:
    """The push service's stand-in. Not thread-safe: use it from the loop that runs it."""

    def __init__(self, *, retry_after_s: int = 1, clock: Callable[[], float] = time.time) -> None:
        # Wall-clock seconds: VAPID's "exp" is one, and so are the messages' times.
        self._clock = clock
        self.retry_after_s = retry_after_s  # the Retry-After of an injected 429 or 503
        self._faults = Faults(clock, FAULT_STATUSES)
        self._subscriptions: dict[str, _Subscription] = {}
        self._gone: set[str] = set()
        self._messages: list[PushMessage] = []
        self._port: int | None = None

    # -- what tests and the local stack read

    @property
    def base_url(self) -> str:
        """Also the endpoints' origin: the "aud" every VAPID token must name."""
        if self._port is None:
            raise RuntimeError("the push sandbox is not running")
        return f"http://{LOOPBACK}:{self._port}"

    @property
    def messages(self) -> list[PushMessage]:
        """Every push message taken, oldest first."""
        return list(self._messages)

    # -- subscriptions, as a browser makes and loses them

    def subscribe(self, application_server_key: str | None = None) -> dict[str, Any]:
        """A new subscription's PushSubscription JSON. With an application server key
        (base64url, as a page passes it to PushManager.subscribe), only pushes that key signs
        are taken. ValueError if it is not a P-256 public key."""
        if application_server_key is not None:
            push_request.p256_public_key(application_server_key)  # ValueError if not one
        sid = secrets.token_urlsafe(16)
        subscription = _Subscription(
            id=sid,
            endpoint=f"{self.base_url}/push/{sid}",
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth_secret=secrets.token_bytes(16),
            server_key=(
                push_request.from_b64url(application_server_key)
                if application_server_key is not None
                else None
            ),
        )
        self._subscriptions[sid] = subscription
        return subscription.to_json()

    def unsubscribe(self, endpoint: str) -> None:
        """Pushes to `endpoint` answer 410 from now on, as after the user revoked the
        permission or the browser dropped the subscription. KeyError if it is not ours."""
        found = [s.id for s in self._subscriptions.values() if s.endpoint == endpoint]
        if not found:
            raise KeyError(f"no subscription has the endpoint {endpoint}")
        self._gone.add(found[0])

    # -- fault injection

    def fail_next(self, n: int = 1, status: int = 429) -> None:
        """The next n pushes answer `status` (404, 410, 429 or 5xx) and deliver nothing."""
        self._faults.add_next(n, status)

    def fail_for(self, seconds: float, status: int = 503) -> None:
        """Pushes answer `status` for the next `seconds` (by the sandbox's clock)."""
        self._faults.set_window(seconds, status)

    def clear_faults(self) -> None:
        self._faults.clear()

    # -- running it

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[sweb.errors])
        app.router.add_post("/push/{id}", self._push)
        app.router.add_post("/_sandbox/subscriptions", self._new_subscription)
        app.router.add_post("/_sandbox/subscriptions/{id}/gone", self._subscription_gone)
        app.router.add_post("/_sandbox/faults", self._add_fault)
        app.router.add_delete("/_sandbox/faults", self._clear_faults)
        return app

    @asynccontextmanager
    async def running(self, port: int = 0, *, host: str = LOOPBACK) -> AsyncIterator[Self]:
        """Serves on `host`:`port` (0: a free one) until the block ends."""
        if self._port is not None:
            raise RuntimeError("the push sandbox is already running")
        runner = web.AppRunner(self._app(), access_log=None, shutdown_timeout=0.25)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
            self._port = runner.addresses[0][1]
            yield self
        finally:
            self._port = None
            await runner.cleanup()

    # -- the push service's API

    async def _push(self, request: web.Request) -> web.Response:
        # An injected fault answers first, as an overloaded service does before any check.
        if (status := self._faults.take()) is not None:
            retry = {"Retry-After": str(self.retry_after_s)}
            headers = retry if status in _RETRY_AFTER_STATUSES else None
            return _refusal(Refused(status, f"injected fault: HTTP {status}", headers))
        subscription = self._subscriptions.get(request.match_info["id"])
        if subscription is None:
            return _refusal(Refused(404, "no such subscription"))
        if subscription.id in self._gone:
            return _refusal(Refused(410, "the subscription has expired or was unsubscribed"))
        try:
            vapid_sub = push_request.vapid(
                request.headers.get("Authorization", ""),
                audience=self.base_url,
                now=self._clock(),
                restricted_to=subscription.server_key,
            )
            delivery = push_request.delivery(request.headers)
            plaintext = push_request.content(
                await request.read(),
                request.headers.get("Content-Encoding"),
                private_key=subscription.private_key,
                auth_secret=subscription.auth_secret,
            )
        except Refused as e:
            return _refusal(e)
        message = self._keep(subscription, plaintext, delivery, vapid_sub)
        headers = {"Location": f"{self.base_url}/message/{message.id}", "TTL": str(message.ttl)}
        return web.Response(status=201, headers=headers)

    def _keep(
        self,
        subscription: _Subscription,
        plaintext: bytes,
        delivery: push_request.Delivery,
        vapid_sub: str,
    ) -> PushMessage:
        try:
            parsed = orjson.loads(plaintext) if plaintext else None
        except orjson.JSONDecodeError:
            parsed = None
        message = PushMessage(
            id=secrets.token_urlsafe(12),
            endpoint=subscription.endpoint,
            subscription_id=subscription.id,
            payload=plaintext.decode("utf-8", errors="replace"),
            payload_json=parsed,
            ttl=delivery.ttl,
            urgency=delivery.urgency,
            topic=delivery.topic,
            received_at=datetime.fromtimestamp(self._clock(), UTC),
            vapid_sub=vapid_sub,
        )
        self._messages.append(message)
        return message

    # -- the sandbox's own API, for tests and operators of the local stack

    async def _new_subscription(self, request: web.Request) -> web.Response:
        """An optional body {"applicationServerKey": "<base64url>"}."""
        spec = await sweb.parse_body(request, _NewSubscription) if request.body_exists else None
        key = spec.application_server_key if spec else None
        try:
            subscription = self.subscribe(key)
        except ValueError:
            message = "not a P-256 public key in base64url (uncompressed, 65 bytes)"
            raise _invalid("applicationServerKey", message) from None
        return web.json_response(subscription, status=201)

    async def _subscription_gone(self, request: web.Request) -> web.Response:
        subscription = self._subscriptions.get(request.match_info["id"])
        if subscription is None:
            raise sweb.ApiError(404, "not_found", "no such subscription", {"id": "unknown"})
        self.unsubscribe(subscription.endpoint)
        return web.json_response({"ok": True})

    async def _add_fault(self, request: web.Request) -> web.Response:
        """{"status": 503, "seconds": 30} for a window, {"status": 429, "count": 3} one-shot
        (one when neither is given)."""
        spec = await sweb.parse_body(request, _FaultSpec)
        try:
            if spec.seconds is not None:
                self.fail_for(spec.seconds, spec.status)
            else:
                self.fail_next(spec.count or 1, spec.status)
        except ValueError as e:
            raise _invalid("status", str(e)) from None
        return web.json_response({"ok": True})

    async def _clear_faults(self, request: web.Request) -> web.Response:
        self.clear_faults()
        return web.json_response({"ok": True})


def _refusal(refused: Refused) -> web.Response:
    """A push service's refusal: the status and a short reason, as text."""
    return web.Response(status=refused.status, text=refused.reason, headers=refused.headers)


def _invalid(field: str, message: str) -> sweb.ApiError:
    return sweb.ApiError(422, "invalid_field", f"{field}: {message}", {field: message})
