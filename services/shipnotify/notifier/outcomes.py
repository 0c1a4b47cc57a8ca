"""What a provider made of one send."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb

T = TypeVar("T")


@dataclass(frozen=True)
class Sent:
    provider_id: str


@dataclass(frozen=True)
class Failed:
    reason: str
    permanent: bool  # permanent: never retried (an invalid number, a 5xx from SMTP)
    code: str = ""
    opted_out: bool = False  # the provider says this address refuses our messages
    # The request may have reached the provider (a timeout, a dropped connection): whether
    # it took the message is unknown, and the next attempt first asks it.
    unknown: bool = False
    # The notice cannot be made at all: no attempt will ever succeed (a dead letter).
    unbuildable: bool = False
    # The provider refused the request as no retry would change (a push service's 400, 401,
    # 403, 413): a dead letter, which `shipnotify redrive` sends again once the cause is fixed.
    dead_letter: bool = False
    # The address is no more (a push subscription its push service forgot): never retried,
    # and the subscription is deleted.
    gone: bool = False
    # The provider said when to come back (Retry-After): no retry before then.
    retry_after_s: float | None = None

    def __post_init__(self) -> None:
        # Providers quote the address in their messages; reasons are logged and stored.
        object.__setattr__(self, "reason", redact(self.reason))

    @property
    def kind(self) -> str:
        """As the failure metrics count it: permanent, unknown or transient."""
        return "permanent" if self.permanent else "unknown" if self.unknown else "transient"


class Unbuildable(Exception):
    """A sender could not make the message of a notice (a template, an address the mail
    library refuses): it fails the same way every time."""


def built(make: Callable[[npb.NotificationJob], T], job: npb.NotificationJob) -> T:
    """What `make` makes of the job; Unbuildable, with the reason, if it cannot."""
    try:
        return make(job)
    except Exception as e:  # building is pure: whatever it raised, it raises every time
        raise Unbuildable(f"cannot be built: {type(e).__name__}: {redact(str(e))}") from e


_PHONE = re.compile(r"\+\d[\d ()-]{6,}\d|\b\d{9,15}\b")  # not error codes (5 digits)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def redact(text: str) -> str:
    """The text with phone numbers and email addresses masked."""
    return _EMAIL.sub("<email>", _PHONE.sub("<phone>", text))


Outcome = Sent | Failed


class Sender(Protocol):
    """A channel's provider: the notifier's port, so tests can hand in their own."""

    channel: pb.Channel

    async def send(self, job: npb.NotificationJob) -> Outcome: ...

    async def find(self, job: npb.NotificationJob, since_ms: int) -> Outcome | None:
        """After a sender died mid-send: the message if the provider has it (Sent), None
        if it surely has not, Failed if the provider cannot tell now."""
        ...

    async def close(self) -> None: ...
