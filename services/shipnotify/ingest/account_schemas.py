"""Request and response bodies of the account API (ingest/accounts.py). Their JSON Schemas
are the OpenAPI document's."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from shipnotify.web.account_changes import Label
from shipnotify.web.contacts import Name
from shipnotify.web.fields import Strict, printable

EventType = Literal[  # model/webhooks.EVENT_TYPES (tests/unit/test_accounts.py)
    "shipment.status_changed",
    "notice.sent",
    "notice.failed",
    "survey.answered",
    "case.opened",
    "case.closed",
]
Description = Annotated[str, *printable(300)]
Url = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=r"^https?://\S+$")]
PathId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")]


# -- requests


class NewAccount(Strict):
    name: Name


class NewKey(Strict):
    label: Label | None = None


class Survey(Strict):
    off: bool = Field(default=False, description="Never ask this account's shipments' parties.")
    scale: Literal["csat", "nps", "ces"] | None = Field(
        default=None, description="The question's scale; by default the carrier's."
    )
    delay_s: Annotated[int, Field(ge=0, le=30 * 86400)] | None = Field(
        default=None, description="Seconds after delivery; by default the carrier's delay."
    )


class NewEndpoint(Strict):
    url: Url = Field(description="https, and a public address (checked again at each send).")
    event_types: list[EventType] = Field(
        default_factory=list, max_length=6, description="The types it hears; empty: every type."
    )
    description: Description | None = None


class EndpointChange(Strict):
    url: Url | None = None
    event_types: Annotated[list[EventType], Field(max_length=6)] | None = None
    description: Description | None = None
    disabled: bool | None = Field(
        default=None, description="false enables it again (a replay sends what it missed)."
    )


# -- answers


class AccountMade(BaseModel):
    account_id: str
    key_id: str
    key: str = Field(description="The account's first API key, shown this once.")


class KeyMade(BaseModel):
    key_id: str
    key: str = Field(description="The API key, shown this once.")


class KeyView(BaseModel):
    key_id: str
    label: str


class AccountItem(BaseModel):
    account_id: str
    name: str


class AccountList(BaseModel):
    accounts: list[AccountItem]


class EndpointView(BaseModel):
    endpoint_id: str
    url: str
    event_types: list[str]
    description: str
    disabled: bool
    disabled_reason: str | None = None


class EndpointMade(EndpointView):
    secret: str = Field(description="Its signing secret (whsec_...), shown this once.")


class EndpointList(BaseModel):
    endpoints: list[EndpointView]


class SecretRotated(BaseModel):
    secret: str = Field(description="The new secret; the old one signs too until old_expires_at.")
    old_expires_at: datetime | None = None


class SurveyView(BaseModel):
    off: bool
    scale: str | None = None
    delay_s: int | None = None


class MemberView(BaseModel):
    name: str
    role: str
    phone: str | None = None
    email: str | None = None
    locale: str
    time_zone: str
    channels: list[str]
    statuses: list[str]


class AccountView(BaseModel):
    account_id: str
    name: str
    created_at: datetime
    keys: list[KeyView]
    team: list[MemberView]
    survey: SurveyView | None = None
    endpoints: list[EndpointView]


class AccountChanged(BaseModel):
    event_id: uuid.UUID
    account_id: str


class Delivery(BaseModel):
    message_id: str
    notification_id: str
    attempt: int = Field(description="1 for the first try, 2, ...")
    status: int = Field(description="The HTTP status; 0: no answer.")
    ms: int = Field(description="Latency.")
    error: str
    at: datetime


class Deliveries(BaseModel):
    deliveries: list[Delivery] = Field(description="Newest first.")
