"""What the notifier's worker needs of the notice book (store/notices.py), of the survey
throttle (store/survey_throttle.py) and of Kafka's producer (its dead letters; the push
subscriptions gone, on the events topic; the surveys sent and every notice's outcome, on the
feedback topic), as ports: the service hands in the real ones, tests their own. The
webhooks' endpoints, message stores and delivery logs (store/webhooks.py) are a port too,
and so is the failed notices' list. A provider's port is outcomes.Sender."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol

from shipnotify.store.notices import Claim, SmsGate
from shipnotify.store.webhooks import Listeners, Team, Try
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import notifications_pb2 as npb


class Book(Protocol):
    """The notices' states and the due set, as NoticeBook keeps them in Redis."""

    async def intact(self) -> bool: ...

    async def schedule(self, jobs: list[bytes], at_ms: int) -> None: ...

    async def take_due(self, lease_s: float, limit: int) -> list[bytes]: ...

    async def done(self, job: bytes) -> None: ...

    async def sms_gate(
        self, shipment_id: str, phone: str, occurred_ms: int, planned_ms: int
    ) -> SmsGate: ...

    async def claim(
        self, shipment_id: str, nid: str, meta: dict[str, Any], lease_s: float, *, planned_ms: int
    ) -> Claim: ...

    async def update(
        self, shipment_id: str, nid: str, state: str, fields: dict[str, Any]
    ) -> str: ...

    async def went(self, shipment_id: str, nid: str, provider_id: str) -> None: ...

    async def finish(
        self, shipment_id: str, nid: str, state: str, fields: dict[str, Any], job: bytes
    ) -> None: ...

    async def defer(self, shipment_id: str, address: str, occurred_ms: int, nid: str) -> None: ...

    async def state_of(self, shipment_id: str, nid: str) -> str | None: ...

    async def opt_out(self, phone: str) -> None: ...


class Webhooks(Protocol):
    """The endpoints as the accounts keep them, and what the notifier keeps of their
    messages and tries, as WebhookStore keeps them in Redis."""

    async def endpoint(self, account_id: str, endpoint_id: str) -> apb.Endpoint | None: ...

    async def listeners(self, shipment_id: str) -> Listeners | None: ...

    async def team(self, account_id: str) -> Team: ...

    async def keep(
        self, jobs: Sequence[tuple[npb.NotificationJob, bytes]], now_ms: int
    ) -> list[bytes]: ...

    async def tried(self, endpoint_id: str, entry: Try) -> int | None: ...


class Failures(Protocol):
    """The failed notices' list (store/notice_failures.py), for the console."""

    async def add(self, shipment_id: str, nid: str, at_ms: int | None = None) -> None: ...

    async def remove(self, shipment_id: str, nid: str) -> None: ...


class Throttle(Protocol):
    """Who was asked a survey lately, as SurveyThrottle keeps it in Redis."""

    async def ask(self, address: str, survey_id: str) -> bool: ...


class Producer(Protocol):
    """Sends a record; the future it returns resolves once the broker has it."""

    async def send(
        self,
        topic: str,
        value: bytes | None = None,
        *,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]],
    ) -> asyncio.Future[Any]: ...
