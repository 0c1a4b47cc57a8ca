"""Business customers' endpoints (Standard Webhooks): a message signed with the
specification's own library by every secret of the endpoint not yet expired (two while a
secret is being rotated), POSTed on the lane's one aiohttp session, which never repeats a
POST itself and reaches only safe targets (`targets.SafeResolver`; an IP literal is checked
here, since aiohttp asks no resolver about it). The endpoint (its URL, its secrets) is read
at each try, so a change or a rotation applies to the retries: the worker's read, when it
took the message up, if that was at most FRESH_S before the try began."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Protocol

import aiohttp
from standardwebhooks import Webhook

from shipnotify import targets
from shipnotify.config import Settings
from shipnotify.model import webhooks as wh
from shipnotify.notifier.outcomes import Failed, Outcome, Sent
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb

# The endpoint as the worker read it to take the message up, in the try's own context: a try
# that begins within FRESH_S of that read signs and posts with it rather than reading again.
AS_READ: ContextVar[tuple[apb.Endpoint, float] | None] = ContextVar("endpoint", default=None)
FRESH_S = 0.5


class Endpoints(Protocol):
    async def endpoint(self, account_id: str, endpoint_id: str) -> apb.Endpoint | None: ...


def current_secrets(endpoint: apb.Endpoint, now_ms: int) -> list[str]:
    """The secrets that sign now: the current one, and a rotated-out one until it expires."""
    return [
        s.secret
        for s in endpoint.secrets
        if not s.HasField("expires_at") or s.expires_at.ToMilliseconds() > now_ms
    ]


def signed_headers(
    message: npb.WebhookMessage, secrets: Sequence[str], now_s: int
) -> dict[str, str]:
    """Standard Webhooks' headers of one try: the same webhook-id on every try, a
    signature (`v1,<base64>`) per secret, separated by spaces."""
    at = datetime.fromtimestamp(now_s, UTC)
    body = message.payload.decode()
    signatures = " ".join(Webhook(s).sign(message.message_id, at, body) for s in secrets)
    return {
        "webhook-id": message.message_id,
        "webhook-timestamp": str(now_s),
        "webhook-signature": signatures,
        "content-type": "application/json",
    }


class WebhookSender:
    channel = pb.CHANNEL_WEBHOOK

    def __init__(self, settings: Settings, *, endpoints: Endpoints) -> None:
        self._settings = settings
        self._endpoints = endpoints
        self._session: aiohttp.ClientSession | None = None

    async def send(self, job: npb.NotificationJob) -> Outcome:
        message = job.webhook
        read = AS_READ.get()
        if (
            read is not None
            and read[0].endpoint_id == message.endpoint_id
            and (time.monotonic() - read[1] <= FRESH_S)
        ):
            endpoint: apb.Endpoint | None = read[0]
        else:
            endpoint = await self._endpoints.endpoint(message.account_id, message.endpoint_id)
        if endpoint is None:
            return Failed("the endpoint was removed", permanent=True, code="removed")
        allow = self._settings.webhook_allow_loopback
        try:
            targets.check_url(endpoint.url, allow_loopback=allow)
        except targets.Unsafe as e:  # the URL may be changed: retried, and logged
            return Failed(f"unsafe target: {e.reason}", permanent=False, code="unsafe")
        secrets = current_secrets(endpoint, int(time.time() * 1000))
        if not secrets:
            return Failed("the endpoint has no secret", permanent=False, code="unsigned")
        headers = signed_headers(message, secrets, int(time.time()))
        try:
            async with (
                asyncio.timeout(self._settings.webhook_timeout_s),
                self._client().post(
                    endpoint.url, data=message.payload, headers=headers, allow_redirects=False
                ) as answer,
            ):
                status, retry_after = answer.status, answer.headers.get("Retry-After")
        except aiohttp.ClientConnectorError as e:
            unsafe = isinstance(e.os_error, targets.Unsafe)
            said = e.os_error.reason if isinstance(e.os_error, targets.Unsafe) else repr(e)
            code = "unsafe" if unsafe else "network"
            return Failed(f"endpoint unreachable: {said}"[:200], permanent=False, code=code)
        except TimeoutError:
            return Failed("no answer in time", permanent=False, code="timeout", unknown=True)
        except (aiohttp.ClientError, OSError) as e:
            reason = f"no answer: {e!r}"[:200]
            return Failed(reason, permanent=False, code="network", unknown=True)
        return _answered(status, retry_after)

    async def find(self, job: npb.NotificationJob, since_ms: int) -> Outcome | None:
        # An endpoint cannot be asked what it took: sent again, with the same webhook-id,
        # by which its receiver drops the copy.
        return None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:  # made in the running loop, on first use
            resolver = targets.SafeResolver(allow_loopback=self._settings.webhook_allow_loopback)
            connector = aiohttp.TCPConnector(resolver=resolver, limit=0)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def _answered(status: int, retry_after: str | None) -> Outcome:
    meant = wh.meaning(status)
    if meant == "sent":
        return Sent(str(status))
    reason, code = f"endpoint answered {status}", str(status)
    if meant == "gone":
        return Failed(reason, permanent=True, code=code, gone=True)
    wait = wh.retry_after_s(retry_after, now=datetime.now(UTC)) if meant == "retry_after" else None
    return Failed(reason, permanent=False, code=code, retry_after_s=wait)
