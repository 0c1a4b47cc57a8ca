"""A local receiver of business customers' webhooks: endpoints served on a loopback port,
each checking every request as a careful receiver does, with the Standard Webhooks library.

    async with WebhookSandbox().running() as hooks:
        url = hooks.url("demo")              # register this URL as an endpoint
        hooks.trust("demo", "whsec_...")     # the secret the registration answered
        hooks.received[0].verified

`POST /webhooks/{name}` is verified with `standardwebhooks.Webhook(secret).verify` against
each secret the sandbox trusts for `name` (a rotation gives a second one); it is recorded,
verified or with the library's reason, and answered as the endpoint's mode says: `ok` 204 (401
to a request that fails verification), `fail` 500, `hang` no answer until the sandbox stops,
`gone` 410. Modes and secrets are set from Python (`set_mode`, `trust`) or over HTTP
(`PUT /_sandbox/endpoints/{name}/mode`, `POST /_sandbox/endpoints/{name}/secrets`); the
requests received, newest last, at `GET /_sandbox/received.json`. Memory is bounded: the
oldest requests are forgotten past `keep`.
"""

from __future__ import annotations

import asyncio
import binascii
import enum
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn, Self

import orjson
from aiohttp import web
from pydantic import BaseModel, Field
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from shipnotify import web as sweb

LOOPBACK = "127.0.0.1"
KEEP = 10_000  # requests remembered; the oldest go first


class Mode(enum.StrEnum):
    """How an endpoint answers."""

    OK = "ok"  # 204, or 401 to a request that fails verification
    FAIL = "fail"  # 500
    HANG = "hang"  # no answer, ever
    GONE = "gone"  # 410: the receiver wants no more


_ANSWERS = {Mode.FAIL: 500, Mode.GONE: 410}


@dataclass(frozen=True)
class ReceivedWebhook:
    """One request to an endpoint, as it came and as it was answered."""

    endpoint: str
    webhook_id: str  # "" when the header was missing
    type: str  # the payload's "type"; "" when there is none
    verified: bool
    reason: str  # why it was refused; "" when verified
    payload: Any  # the body parsed, when it is JSON; else None
    body: str  # the body as UTF-8 (an undecodable byte shows as U+FFFD)
    received_at: datetime
    answered: int | None  # the HTTP status sent; None: left hanging

    @property
    def data(self) -> dict[str, Any]:
        """The payload's "data" object; empty when there is none."""
        data = self.payload.get("data") if isinstance(self.payload, dict) else None
        return data if isinstance(data, dict) else {}

    @property
    def shipment_id(self) -> str:
        return str(self.data.get("shipment_id", ""))

    @property
    def version(self) -> int | None:
        v = self.data.get("version")
        return v if isinstance(v, int) else None

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.received_at.isoformat(),
            "endpoint": self.endpoint,
            "webhook_id": self.webhook_id,
            "type": self.type,
            "verified": self.verified,
            "reason": self.reason,
            "shipment_id": self.shipment_id,
            "version": self.version,
            "answered": self.answered,
            "payload": self.payload,
        }


async def _forever() -> NoReturn:
    """Never returns: its task is cancelled when the client gives up or the sandbox stops."""
    await asyncio.Event().wait()
    raise AssertionError("an event nobody sets was set")


def verify(secrets: list[str], body: bytes, headers: Mapping[str, str]) -> str:
    """ "" when one of `secrets` verifies the request; else the library's reason (or ours,
    for what it fails on without one)."""
    if not secrets:
        return "no secret is trusted for this endpoint"
    reason = ""
    for secret in secrets:
        try:
            Webhook(secret).verify(body, dict(headers), json_parse=False)
        except WebhookVerificationError as e:
            reason = str(e)
        except UnicodeDecodeError:
            return "the body is not UTF-8"
        except (ValueError, binascii.Error):  # a signature without "v1," or not base64
            reason = "Malformed webhook-signature"
        else:
            return ""
    return reason


class _ModeBody(BaseModel):
    mode: Mode


class _SecretBody(BaseModel):
    secret: str = Field(pattern=r"^whsec_[A-Za-z0-9+/]+={0,2}$", max_length=200)


class WebhookSandbox:
    """The receivers' stand-in. Not thread-safe: use it from the loop that runs it."""

    def __init__(
        self, *, keep: int = KEEP, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._clock = clock
        self._secrets: dict[str, list[str]] = {}
        self._modes: dict[str, Mode] = {}
        self._received: deque[ReceivedWebhook] = deque(maxlen=keep)
        self._port: int | None = None

    # -- what tests and the local stack read

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("the webhook sandbox is not running")
        return f"http://{LOOPBACK}:{self._port}"

    def url(self, endpoint: str) -> str:
        """The URL to register for the endpoint named `endpoint`."""
        return f"{self.base_url}/webhooks/{endpoint}"

    @property
    def received(self) -> list[ReceivedWebhook]:
        """Every request remembered, oldest first."""
        return list(self._received)

    # -- what the receivers know and how they answer

    def trust(self, endpoint: str, secret: str) -> None:
        """Requests to `endpoint` signed with `secret` verify (besides its other secrets).
        ValueError if it is not a secret the library takes."""
        Webhook(secret)  # raises on an empty or undecodable secret
        known = self._secrets.setdefault(endpoint, [])
        if secret not in known:
            known.append(secret)

    def set_mode(self, endpoint: str, mode: Mode) -> None:
        self._modes[endpoint] = mode

    def mode(self, endpoint: str) -> Mode:
        return self._modes.get(endpoint, Mode.OK)

    # -- running it

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[sweb.errors])
        app.router.add_post("/webhooks/{endpoint}", self._receive)
        app.router.add_put("/_sandbox/endpoints/{endpoint}/mode", self._set_mode)
        app.router.add_post("/_sandbox/endpoints/{endpoint}/secrets", self._add_secret)
        app.router.add_get("/_sandbox/received.json", self._list)
        return app

    @asynccontextmanager
    async def running(self, port: int = 0, *, host: str = LOOPBACK) -> AsyncIterator[Self]:
        """Serves on `host`:`port` (0: a free one) until the block ends; requests left
        hanging are then dropped without an answer."""
        if self._port is not None:
            raise RuntimeError("the webhook sandbox is already running")
        # A hanging request's handler ends when its client gives up (handler_cancellation),
        # or at the stop, after a short grace.
        runner = web.AppRunner(
            self._app(), access_log=None, shutdown_timeout=0.25, handler_cancellation=True
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
            self._port = runner.addresses[0][1]
            yield self
        finally:
            self._port = None
            await runner.cleanup()

    # -- the endpoints

    async def _receive(self, request: web.Request) -> web.StreamResponse:
        endpoint = request.match_info["endpoint"]
        body = await request.read()
        reason = verify(self._secrets.get(endpoint, []), body, request.headers)
        mode = self.mode(endpoint)
        answer = _ANSWERS.get(mode, 401 if reason else 204) if mode != Mode.HANG else None
        self._record(endpoint, body, request.headers, reason, answer)
        if answer is None:
            await _forever()
        if answer == 401:
            raise sweb.ApiError(401, "unauthorized", reason, {"webhook-signature": reason})
        return web.Response(status=answer)

    def _record(
        self,
        endpoint: str,
        body: bytes,
        headers: Mapping[str, str],
        reason: str,
        answer: int | None,
    ) -> None:
        try:
            payload = orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            payload = None
        kind = payload.get("type") if isinstance(payload, dict) else None
        self._received.append(
            ReceivedWebhook(
                endpoint=endpoint,
                webhook_id=headers.get("webhook-id", ""),
                type=kind if isinstance(kind, str) else "",
                verified=not reason,
                reason=reason,
                payload=payload,
                body=body.decode("utf-8", errors="replace"),
                received_at=self._clock(),
                answered=answer,
            )
        )

    # -- the sandbox's own API, for tests and operators of the local stack

    async def _set_mode(self, request: web.Request) -> web.Response:
        """{"mode": "ok" | "fail" | "hang" | "gone"}."""
        spec = await sweb.parse_body(request, _ModeBody)
        self.set_mode(request.match_info["endpoint"], spec.mode)
        return web.json_response({"ok": True})

    async def _add_secret(self, request: web.Request) -> web.Response:
        """{"secret": "whsec_..."}: what a registration (or a rotation) answered."""
        spec = await sweb.parse_body(request, _SecretBody)
        try:
            self.trust(request.match_info["endpoint"], spec.secret)
        except (ValueError, binascii.Error) as e:
            raise sweb.ApiError(
                422, "invalid_field", f"secret: {e}", {"secret": "not a whsec_ secret"}
            ) from None
        return web.json_response({"ok": True})

    async def _list(self, request: web.Request) -> web.Response:
        return web.json_response([r.to_json() for r in self._received])
