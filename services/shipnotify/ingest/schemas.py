"""Request and response bodies of ingest. Their JSON Schemas are the OpenAPI document's."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

import phonenumbers
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)

from shipnotify.model.status import AttemptFailure, Status

# A tap may be uploaded long after it happened, but never from the future.
MAX_CLOCK_SKEW = timedelta(minutes=5)

Id = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]
Channel = Literal["sms", "email"]
# Every status but `registered`, which only a registration makes (a unit test keeps it so).
CourierStatus = Literal[
    "confirmed",
    "awaiting_pickup",
    "picked_up",
    "in_transit",
    "out_for_delivery",
    "delivery_attempted",
    "ready_for_collection",
    "delivered",
    "returned_to_sender",
    "cancelled",
]


def _e164(value: str) -> str:
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number in E.164 form, such as +40721234567") from None
    if not value.startswith("+") or not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number in E.164 form, such as +40721234567")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _time_zone(value: str) -> str:
    # a lookup among the known names: ZoneInfo itself would try any string as a file path
    if value not in _ZONES:
        raise ValueError("not an IANA time zone, such as Europe/Bucharest")
    return value


def _not_in_future(value: datetime) -> datetime:
    if value > datetime.now(UTC) + MAX_CLOCK_SKEW:
        raise ValueError("is in the future")
    return value


_ZONES = available_timezones()
Phone = Annotated[str, AfterValidator(_e164)]
TimeZone = Annotated[str, AfterValidator(_time_zone)]
Locale = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")]
OccurredAt = Annotated[AwareDatetime, AfterValidator(_not_in_future)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Contact(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
    phone: Phone | None = None
    email: EmailStr | None = None
    locale: Locale = "en"
    time_zone: TimeZone = "UTC"
    channels: list[Channel] | None = Field(
        default=None, description="Preferred channels; by default every channel with an address."
    )
    statuses: list[CourierStatus] | None = Field(
        default=None,
        description="Statuses this contact hears about; by default the party's usual ones.",
    )

    @model_validator(mode="after")
    def _reachable(self) -> Contact:
        if self.channels is None:
            self.channels = [c for c, v in _ADDRESSES(self) if v]
        if not self.phone and not self.email:
            raise ValueError("a contact needs a phone or an email")
        if "sms" in self.channels and not self.phone:
            raise ValueError("channel sms needs a phone")
        if "email" in self.channels and not self.email:
            raise ValueError("channel email needs an email")
        return self


def _ADDRESSES(c: Contact) -> list[tuple[Channel, str | None]]:
    return [("sms", c.phone), ("email", c.email)]


class Party(Strict):
    contacts: Annotated[list[Contact], Field(min_length=1, max_length=20)]


class RegisterShipment(Strict):
    shipment_id: Id
    event_id: uuid.UUID | None = Field(
        default=None, description="Made by the client so that a retry is recognised."
    )
    occurred_at: OccurredAt | None = None
    sender: Party
    recipient: Party


class Location(Strict):
    depot: Annotated[str, StringConstraints(max_length=100)] | None = None
    city: Annotated[str, StringConstraints(max_length=100)] | None = None
    country_code: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None


class StatusEvent(Strict):
    event_id: uuid.UUID = Field(description="Made by the app at the tap; a retry sends it again.")
    occurred_at: OccurredAt = Field(description="When the courier tapped, with its UTC offset.")
    status: CourierStatus
    failure: AttemptFailure | None = Field(
        default=None, description="Why the attempt failed; required with delivery_attempted."
    )
    location: Location | None = None

    @model_validator(mode="after")
    def _failure_with_attempt(self) -> StatusEvent:
        attempted = self.status == Status.DELIVERY_ATTEMPTED.value
        if attempted and self.failure is None:
            raise ValueError("failure is required with delivery_attempted")
        if not attempted and self.failure is not None:
            raise ValueError("failure goes only with delivery_attempted")
        return self


class BatchStatusEvent(StatusEvent):
    shipment_id: Id


class StatusBatch(Strict):
    """Taps an app kept while offline, oldest first. Items are checked one by one."""

    # Each item is checked on its own: an invalid one gets its result, never fails the batch.
    events: Annotated[list[BatchStatusEvent | dict[str, Any]], Field(min_length=1)]


class RawBatch(Strict):
    events: Annotated[list[dict[str, object]], Field(min_length=1)]


class Accepted(BaseModel):
    event_id: uuid.UUID
    shipment_id: str


class Registered(Accepted):
    tracking_id: str
    tracking_url: str


class ItemResult(BaseModel):
    index: int
    result: Literal["accepted", "rejected"]
    event_id: uuid.UUID | None = None
    fields: dict[str, str] | None = None


class BatchResult(BaseModel):
    accepted: int
    rejected: int
    results: list[ItemResult]
