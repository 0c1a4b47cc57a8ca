"""A local stand-in for the mail relay: an SMTP server on a loopback port that keeps every
message it accepts, and fails on demand.

    with MailSandbox() as mail:
        await aiosmtplib.send(message, hostname=mail.host, port=mail.port)
        mail.messages[0].subject

The server runs in its own thread (aiosmtpd's Controller), so it also serves callers that
block their event loop. `fail_for` and `reject_next` make it refuse recipients; `stop()`
and `start()` take it down and bring it back on the same port (connections are refused
meanwhile), as a relay that restarts would. `connections` counts the clients' connections.
"""

from __future__ import annotations

import asyncio
import email
import math
import re
import socket
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from functools import cached_property
from html import unescape
from types import TracebackType
from typing import Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

LOOPBACK = "127.0.0.1"
_READY_TIMEOUT_S = 5.0
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    received_at: datetime

    @cached_property
    def message(self) -> EmailMessage:
        # Parsed when first read: parsing costs milliseconds, and under load most messages
        # are only counted.
        return email.message_from_bytes(self.raw, _class=EmailMessage, policy=policy.default)

    @cached_property
    def message_id(self) -> str:
        """Its Message-ID, from the headers alone: what a count of messages needs, at a
        fraction of the cost of parsing the message (the fault suite counts thousands)."""
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(self.raw)
        return str(headers.get("Message-ID", "")).strip()

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))  # decoded: the default policy does that

    @property
    def text(self) -> str | None:
        return _body(self.message, "plain")

    @property
    def html(self) -> str | None:
        return _body(self.message, "html")

    def excerpt(self, limit: int = 200) -> str:
        """The start of the text, or of the HTML without its tags when there is no text."""
        text = self.text
        if text is None:
            text = unescape(_TAG.sub(" ", self.html or ""))
        text = _SPACES.sub(" ", text).strip()
        return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _body(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        return None
    content: str = part.get_content()
    return content.replace("\r\n", "\n")  # SMTP carries CRLF; Python text uses LF


class _State:
    """What the SMTP thread and the caller's thread share, behind one lock."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.lock = threading.Lock()
        self.clock = clock
        self.messages: list[ReceivedMail] = []
        self.connections = 0  # SMTP sessions accepted, ever
        self.fail_code = 451
        self.fail_until = -math.inf
        self.rejects: list[int] = []  # codes for the next recipients, first first

    def refusal(self, *, at_rcpt: bool) -> str | None:
        with self.lock:
            if at_rcpt and self.rejects:
                code = self.rejects.pop(0)
                return f"{code} {code // 100}.1.1 Recipient rejected (sandbox fault)"
            if self.clock() < self.fail_until:
                code = self.fail_code
                return f"{code} {code // 100}.3.0 Relay temporarily unavailable (sandbox fault)"
        return None


class _Handler:
    """aiosmtpd's hooks, run in the SMTP thread."""

    def __init__(self, state: _State) -> None:
        self._state = state

    def connected(self) -> None:
        with self._state.lock:
            self._state.connections += 1

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if (refusal := self._state.refusal(at_rcpt=True)) is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        # A window opened after RCPT still fails the message, as a relay going down would.
        if (refusal := self._state.refusal(at_rcpt=False)) is not None:
            return refusal
        raw = envelope.original_content or b""
        received = ReceivedMail(
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            raw=raw,
            received_at=datetime.now(UTC),
        )
        with self._state.lock:
            self._state.messages.append(received)
        return "250 OK: queued"


class _Controller(Controller):
    """aiosmtpd's Controller, serving a socket bound by the caller and stopping cleanly.

    Binding in the caller's thread makes a busy port fail at once (the stock Controller
    only notices after its ready timeout) and gives port 0 its real number before the
    thread starts. The stock stop() closes the loop with sessions still open, which
    leaves transports to be reported unclosed.
    """

    def __init__(self, handler: _Handler, sock: socket.socket) -> None:
        super().__init__(
            handler,
            hostname=LOOPBACK,
            port=sock.getsockname()[1],
            server_hostname="localhost",  # not getfqdn(), which can wait on DNS
            ready_timeout=_READY_TIMEOUT_S,
        )
        self._sock = sock
        self._sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()  # ended ones just go

    def factory(self) -> SMTP:
        smtp = SMTP(self.handler, **self.SMTP_kwargs)  # what the base does, but typed
        self._sessions.add(smtp)
        self.handler.connected()
        return smtp

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        return self.loop.create_server(self._factory_invoker, sock=self._sock)

    def cancel_tasks(self, stop_loop: bool = True) -> None:
        # Called in the SMTP thread by stop(); run_forever() returns once the drain is done.
        self.loop.create_task(self._drain(stop_loop))

    async def _drain(self, stop_loop: bool) -> None:
        if self.server is not None:
            self.server.close()
        # Connections accepted just before the close get their session a moment later;
        # cancelling that step would leak the accepted socket, so let it finish first.
        await asyncio.sleep(0.05)
        for smtp in list(self._sessions):
            if smtp.transport is not None:
                smtp.transport.close()
        others = [t for t in asyncio.all_tasks(self.loop) if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        await asyncio.sleep(0)  # lets the transports' connection_lost callbacks run
        if stop_loop:
            self.loop.stop()


def _listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # A restart rebinds the port while the last connections may linger in TIME_WAIT.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((LOOPBACK, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


class MailSandbox:
    """The mail relay's stand-in on 127.0.0.1. Thread-safe."""

    host = LOOPBACK

    def __init__(self, *, port: int = 0, clock: Callable[[], float] = time.monotonic) -> None:
        self._port = port
        self._state = _State(clock)
        self._controller: _Controller | None = None

    @property
    def port(self) -> int:
        """The port it listens on; kept across stop() and start()."""
        return self._port

    @property
    def running(self) -> bool:
        return self._controller is not None

    @property
    def messages(self) -> list[ReceivedMail]:
        """Every accepted message, oldest first."""
        with self._state.lock:
            return list(self._state.messages)

    @property
    def connections(self) -> int:
        """How many SMTP connections it has accepted, across stop() and start()."""
        with self._state.lock:
            return self._state.connections

    def clear(self) -> None:
        with self._state.lock:
            self._state.messages.clear()

    # -- fault injection

    def fail_for(self, seconds: float, code: int = 451) -> None:
        """RCPT and DATA answer `code` for the next `seconds` (by the sandbox's clock)."""
        with self._state.lock:
            self._state.fail_code = _smtp_error(code)
            self._state.fail_until = self._state.clock() + seconds

    def reject_next(self, n: int = 1, code: int = 550) -> None:
        """The next n recipients (RCPT commands) are refused with `code`."""
        with self._state.lock:
            self._state.rejects.extend([_smtp_error(code)] * n)

    def clear_faults(self) -> None:
        with self._state.lock:
            self._state.fail_until = -math.inf
            self._state.rejects.clear()

    # -- up and down

    def start(self) -> None:
        """Listens (again), on the port of the first start when there was one."""
        if self._controller is not None:
            return
        sock = _listen(self._port)
        controller = _Controller(_Handler(self._state), sock)
        try:
            controller.start()
        except BaseException:
            _discard(controller)
            sock.close()  # already closed if the server had taken it; harmless then
            raise
        self._port = controller.port
        self._controller = controller
        with self._state.lock:
            self._state.connections -= 1  # the Controller's own, made to see that it serves

    def stop(self) -> None:
        """Closes the listener and every open session: connections are refused until start()."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _discard(controller: _Controller) -> None:
    """Cleans up after a failed start, whose thread may have ended before running its loop."""
    controller.stop(no_assert=True)
    if not controller.loop.is_closed():
        controller.loop.close()


def _smtp_error(code: int) -> int:
    if not 400 <= code <= 599:
        raise ValueError(f"a fault needs an SMTP error code, not {code}")
    return code
