"""A local stand-in for the SMS provider: the part of Twilio's REST API that shipnotify uses,
served on a loopback port so the real `twilio` library can talk to it.

    async with SmsSandbox(account_sid, auth_token).running() as sms:
        client = Client(account_sid, auth_token, http_client=AsyncTwilioHttpClient())
        client.api.base_url = sms.base_url

It accepts `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` (and lists with GET,
by To and From, newest first, as the notifier does after a crash), records every accepted
message, moves it to "sent" and then "delivered" and posts signed status callbacks, as the
provider does. Faults are injected from Python (`fail_next`, `fail_for`, `opt_out`,
`response_delay_s`) or, by operators of the local stack, over HTTP (`POST /_sandbox/faults`).

Magic "To" numbers (the first two are the provider's own test numbers):
    +15005550001  400, code 21211: not a valid phone number
    +15005550004  400, code 21610: the recipient has opted out
    +15005550030  accepted, then "undelivered" with ErrorCode 30003 (unreachable handset)
Any other E.164 number is accepted and ends "delivered".
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, Self
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

from shipnotify import logs
from shipnotify.devstack.faults import Faults
from shipnotify.model import sms

log = logs.get(__name__)

LOOPBACK = "127.0.0.1"
API_VERSION = "2010-04-01"
INVALID_NUMBER = "+15005550001"
OPTED_OUT_NUMBER = "+15005550004"
UNDELIVERABLE_NUMBER = "+15005550030"
# The sender the sandbox reports when a message names a messaging service instead of a number.
DEFAULT_FROM = "+15005550006"
UNREACHABLE_HANDSET = 30003

# The provider's default keywords: it opts the sender out (or back in) before the
# inbound message reaches our webhook, and refuses later sends with 21610.
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_MAX_BODY_CHARS = 1600
_DOCS = "https://www.twilio.com/docs/errors/"


@dataclass(frozen=True)
class StatusChange:
    status: str
    at: datetime
    error_code: int | None = None


@dataclass(frozen=True)
class SmsMessage:
    """One accepted message; replaced by a new value at each status change."""

    sid: str
    account_sid: str
    to: str
    from_: str | None  # None when sent through a messaging service, as the provider reports it
    body: str
    status: str
    created_at: datetime
    history: tuple[StatusChange, ...]
    messaging_service_sid: str | None = None
    status_callback: str | None = None
    num_segments: int = 1
    error_code: int | None = None

    @property
    def updated_at(self) -> datetime:
        return self.history[-1].at

    def resource(self) -> dict[str, Any]:
        """The provider's JSON representation of the message."""
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}"
        return {
            "sid": self.sid,
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "to": self.to,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "body": self.body,
            "status": self.status,
            "direction": "outbound-api",
            "num_segments": str(self.num_segments),
            "num_media": "0",
            "price": None,
            "price_unit": "USD",
            "error_code": self.error_code,
            "error_message": None,
            "date_created": format_datetime(self.created_at),
            "date_updated": format_datetime(self.updated_at),
            "date_sent": None,
            "uri": f"{uri}.json",
            "subresource_uris": {"media": f"{uri}/Media.json"},
        }

    def to_json(self) -> dict[str, Any]:
        """The resource plus what only the sandbox knows: the callback URL and the history."""
        return {
            **self.resource(),
            "status_callback": self.status_callback,
            "history": [
                {"status": c.status, "at": c.at.isoformat(), "error_code": c.error_code}
                for c in self.history
            ],
        }


class SmsSandbox:
    """The SMS provider's stand-in. Not thread-safe: use it from the loop that runs it."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        callback_delay_s: float = 0.02,
        keyword_opt_out: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.callback_delay_s = callback_delay_s
        self.keyword_opt_out = keyword_opt_out
        # Added before every accepted message's response, after it is recorded: a client
        # that times out has still sent the message, as with the real provider.
        self.response_delay_s = 0.0
        self._validator = RequestValidator(auth_token)
        self._faults = Faults(clock)
        self._opted_out: set[str] = {OPTED_OUT_NUMBER}
        self._messages: dict[str, SmsMessage] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._port: int | None = None

    # -- what tests and the local stack read

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("the SMS sandbox is not running")
        return f"http://{LOOPBACK}:{self._port}"

    @property
    def messages(self) -> list[SmsMessage]:
        """Every accepted message, oldest first, each as of its latest status."""
        return list(self._messages.values())

    @property
    def opted_out(self) -> frozenset[str]:
        return frozenset(self._opted_out)

    async def settled(self) -> None:
        """Waits until every accepted message reached its final status and callback."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- fault injection

    def fail_next(self, n: int = 1, status: int = 429) -> None:
        """The next n create requests answer `status` (and send nothing)."""
        self._faults.add_next(n, status)

    def fail_for(self, seconds: float, status: int = 500) -> None:
        """Create requests answer `status` for the next `seconds` (by the sandbox's clock)."""
        self._faults.set_window(seconds, status)

    def clear_faults(self) -> None:
        self._faults.clear()

    def opt_out(self, phone: str) -> None:
        self._opted_out.add(phone)

    def opt_in(self, phone: str) -> None:
        self._opted_out.discard(phone)

    # -- running it

    def _app(self) -> web.Application:
        app = web.Application()
        messages = f"/{API_VERSION}/Accounts/{{account_sid}}/Messages.json"
        app.router.add_post(messages, self._create_message)
        app.router.add_get(messages, self._read_messages)
        app.router.add_get("/_sandbox/messages.json", self._list_messages)
        app.router.add_post("/_sandbox/faults", self._add_fault)
        app.router.add_delete("/_sandbox/faults", self._clear_faults)
        return app

    @asynccontextmanager
    async def running(self, port: int = 0, *, host: str = LOOPBACK) -> AsyncIterator[Self]:
        """Serves on `host`:`port` (0: a free one) until the block ends; base_url stays on
        the loopback address (a container's own clients reach it by service name)."""
        if self._port is not None:
            raise RuntimeError("the SMS sandbox is already running")
        # A short grace: only responses held back by response_delay_s can be in flight.
        runner = web.AppRunner(self._app(), access_log=None, shutdown_timeout=0.25)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
            self._port = runner.addresses[0][1]
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
            try:
                yield self
            finally:
                await self._stop_tasks()
                await self._session.close()
                self._session = None
        finally:
            self._port = None
            await runner.cleanup()

    async def _stop_tasks(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- the provider's API

    async def _create_message(self, request: web.Request) -> web.Response:
        if not self._authenticated(request):
            return _error(401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="API"'})
        if request.match_info["account_sid"] != self.account_sid:
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        if (status := self._faults.take()) is not None:
            return _error(status, 20000 + status, f"Injected fault: HTTP {status}")
        form = await request.post()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        if (problem := self._refusal(fields)) is not None:
            return problem
        message = self._accept(fields)
        if self.response_delay_s > 0:
            await asyncio.sleep(self.response_delay_s)
        return web.json_response(message.resource(), status=201)

    async def _read_messages(self, request: web.Request) -> web.Response:
        """The provider's message list: newest first, filtered by To and From, one page."""
        if not self._authenticated(request):
            return _error(401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="API"'})
        if request.match_info["account_sid"] != self.account_sid:
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        q = request.query
        try:
            size = min(max(int(q.get("PageSize", "50")), 1), 1000)
        except ValueError:
            return _error(400, 20001, "PageSize must be a number")
        found = [
            m.resource()
            for m in reversed(self._messages.values())
            if q.get("To", m.to) == m.to and q.get("From", m.from_) == m.from_
        ][:size]
        return web.json_response(
            {
                "messages": found,
                "page": 0,
                "page_size": size,
                "start": 0,
                "end": max(len(found) - 1, 0),
                "uri": request.path_qs,
                "first_page_uri": request.path_qs,
                "next_page_uri": None,
                "previous_page_uri": None,
            }
        )

    def _authenticated(self, request: web.Request) -> bool:
        credentials = _basic_credentials(request.headers.get("Authorization", ""))
        if credentials is None:
            return False
        sid, token = credentials
        # Both compared, in constant time, so a wrong sid is no faster to find than a token.
        sid_ok = hmac.compare_digest(sid.encode(), self.account_sid.encode())
        token_ok = hmac.compare_digest(token.encode(), self.auth_token.encode())
        return sid_ok and token_ok

    def _refusal(self, fields: Mapping[str, str]) -> web.Response | None:
        """The provider's answer to a request it refuses, in the order it checks."""
        to = fields.get("To", "")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not fields.get("From") and not fields.get("MessagingServiceSid"):
            return _error(400, 21603, "A 'From' phone number is required.")
        if not fields.get("Body"):
            return _error(400, 21602, "Message body is required.")
        if len(fields["Body"]) > _MAX_BODY_CHARS:
            return _error(400, 21617, "The concatenated message body exceeds the 1600 limit.")
        if not _E164.fullmatch(to) or to == INVALID_NUMBER:
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if to in self._opted_out:
            return _error(400, 21610, "Attempt to send to unsubscribed recipient")
        return None

    def _accept(self, fields: Mapping[str, str]) -> SmsMessage:
        now = datetime.now(UTC)
        service = fields.get("MessagingServiceSid") or None
        # A messaging service picks the sender later, so the provider answers "accepted".
        status = "accepted" if service and not fields.get("From") else "queued"
        message = SmsMessage(
            sid=_sid(),
            account_sid=self.account_sid,
            to=fields["To"],
            from_=fields.get("From") or None,
            body=fields["Body"],
            status=status,
            created_at=now,
            history=(StatusChange(status, now),),
            messaging_service_sid=service,
            status_callback=fields.get("StatusCallback") or None,
            num_segments=sms.segments(fields["Body"]),
        )
        self._messages[message.sid] = message
        self._spawn(self._deliver(message.sid))
        return message

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- delivery and status callbacks

    async def _deliver(self, sid: str) -> None:
        to = self._messages[sid].to
        final = ("undelivered", UNREACHABLE_HANDSET) if to == UNDELIVERABLE_NUMBER else None
        for status, error_code in (("sent", None), final or ("delivered", None)):
            await asyncio.sleep(self.callback_delay_s)
            message = self._set_status(sid, status, error_code)
            if message.status_callback:
                await self._post_status(message)

    def _set_status(self, sid: str, status: str, error_code: int | None) -> SmsMessage:
        message = self._messages[sid]
        change = StatusChange(status, datetime.now(UTC), error_code)
        message = replace(
            message,
            status=status,
            error_code=error_code,
            history=(*message.history, change),
            from_=message.from_ or DEFAULT_FROM,  # a messaging service has chosen by now
        )
        self._messages[sid] = message
        return message

    async def _post_status(self, message: SmsMessage) -> None:
        params = {
            "MessageSid": message.sid,
            "SmsSid": message.sid,
            "AccountSid": message.account_sid,
            "From": message.from_ or DEFAULT_FROM,
            "To": message.to,
            "MessageStatus": message.status,
            "SmsStatus": message.status,
            "ApiVersion": API_VERSION,
        }
        if message.messaging_service_sid:
            params["MessagingServiceSid"] = message.messaging_service_sid
        if message.error_code is not None:
            params["ErrorCode"] = str(message.error_code)
        assert message.status_callback is not None
        await self._post_signed(message.status_callback, params, what="status callback")

    async def _post_signed(
        self, url: str, params: dict[str, str], *, what: str
    ) -> tuple[int, str] | None:
        """Posts a form signed as the provider signs it; logs failures, never raises them."""
        if self._session is None:
            raise RuntimeError("the SMS sandbox is not running")
        signature = str(self._validator.compute_signature(url, params))
        headers = {
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        }
        form = urlencode(params).encode()  # as aiohttp would encode the dict, for less CPU
        try:
            async with self._session.post(url, data=form, headers=headers) as resp:
                text = await resp.text()
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            log.warning("sms_sandbox.post_failed", what=what, url=url, error=repr(e))
            return None
        if resp.status >= 400:
            log.warning("sms_sandbox.post_refused", what=what, url=url, status=resp.status)
        return resp.status, text

    # -- inbound messages

    async def send_inbound(self, url: str, from_: str, to: str, body: str) -> tuple[int, str]:
        """Delivers an SMS from `from_` to our number `to` to our webhook at `url`, as the
        provider would, and returns the webhook's (status, text). Opt-out keywords take
        effect first, as they do at the provider (unless keyword_opt_out is False)."""
        if self.keyword_opt_out:
            self._apply_keyword(from_, body)
        sid = _sid()
        params = {
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "AccountSid": self.account_sid,
            "From": from_,
            "To": to,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": str(sms.segments(body)),
            "SmsStatus": "received",
            "ApiVersion": API_VERSION,
        }
        reply = await self._post_signed(url, params, what="inbound message")
        if reply is None:
            raise ConnectionError(f"could not deliver the inbound message to {url}")
        return reply

    def _apply_keyword(self, phone: str, body: str) -> None:
        keyword = body.strip().upper()
        if keyword in OPT_OUT_KEYWORDS:
            self.opt_out(phone)
        elif keyword in OPT_IN_KEYWORDS:
            self.opt_in(phone)

    # -- the sandbox's own API, for operators of the local stack

    async def _list_messages(self, request: web.Request) -> web.Response:
        return web.json_response({"messages": [m.to_json() for m in self.messages]})

    async def _add_fault(self, request: web.Request) -> web.Response:
        """{"status": 500, "seconds": 30} for a window, {"status": 429, "count": 3} one-shot."""
        try:
            spec = await request.json()
            status = int(spec.get("status", 500))
            if "seconds" in spec:
                self.fail_for(float(spec["seconds"]), status)
            else:
                self.fail_next(int(spec.get("count", 1)), status)
        except (ValueError, TypeError, AttributeError) as e:
            return web.json_response({"error": str(e)}, status=400)
        return web.json_response({"ok": True})

    async def _clear_faults(self, request: web.Request) -> web.Response:
        self.clear_faults()
        return web.json_response({"ok": True})


def _basic_credentials(header: str) -> tuple[str, str] | None:
    """(user, password) of a Basic Authorization header; parsed here because aiohttp's
    BasicAuth is deprecated."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("latin-1")
    except binascii.Error:
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def _sid() -> str:
    return "SM" + secrets.token_hex(16)


def _error(
    status: int, code: int, message: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    body = {"code": code, "message": message, "more_info": f"{_DOCS}{code}", "status": status}
    return web.json_response(body, status=status, headers=headers)
