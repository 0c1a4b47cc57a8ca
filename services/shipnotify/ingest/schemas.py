"""Request and response bodies of ingest. Their JSON Schemas are the OpenAPI document's.

Every rule a body is checked against is stated in its JSON Schema, so that a client made from
the document sends only what is accepted: patterns, enums, and the rules between fields as
`anyOf` and `if`/`then`/`else`. The one rule JSON Schema cannot state, the age of a tap
(relative to the server's clock), is stated in the description of `occurred_at`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from shipnotify.config import Settings
from shipnotify.model.status import AttemptFailure, Status
from shipnotify.web.contacts import (
    Contact,
    CourierStatus,
    Name,
)
from shipnotify.web.contacts import given as _given
from shipnotify.web.fields import TIME_PATTERN, Strict, matching, printable

# A tap may be uploaded long after it happened, but never from the future.
MAX_CLOCK_SKEW = timedelta(minutes=5)
# The validation context's key for how old a tap may be (a timedelta; the setting's default
# when a caller gives none).
MAX_TAP_AGE = "max_tap_age"
_DEFAULT_MAX_TAP_AGE = timedelta(days=Settings.model_fields["max_tap_age_days"].default)

Id = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]


# -- free text: a contact's name, a depot, a city (web/fields.py: printable)

PlaceName = Annotated[str, *printable(100)]
AddressLine = Annotated[str, *printable(300)]


# -- event ids and times: exactly the JSON strings the document names

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
EventId = Annotated[
    uuid.UUID,
    BeforeValidator(matching(UUID_PATTERN, "not a UUID such as 0b6ae9c6-...-4f1c2a8d9e10")),
    WithJsonSchema({"type": "string", "format": "uuid", "pattern": UUID_PATTERN}),
]

TAP_TIME_RULE = (
    "RFC 3339 with its offset. At most 5 minutes ahead of the server's clock, and not older"
    " than the server's maximum tap age (SHIPNOTIFY_MAX_TAP_AGE_DAYS, 30 days by default):"
    " 422 otherwise."
)


def _recent(value: datetime, info: ValidationInfo) -> datetime:
    now = datetime.now(UTC)
    if value > now + MAX_CLOCK_SKEW:
        raise ValueError("is in the future")
    max_age: timedelta = (info.context or {}).get(MAX_TAP_AGE, _DEFAULT_MAX_TAP_AGE)
    if value < now - max_age:
        raise ValueError(f"is more than {max_age.days} days old")
    return value


TapTime = Annotated[
    AwareDatetime,
    BeforeValidator(matching(TIME_PATTERN, "not an RFC 3339 time such as 2026-05-04T10:00:00Z")),
    AfterValidator(_recent),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": TIME_PATTERN,
            "description": TAP_TIME_RULE,
        }
    ),
]


# The validation context's key: the caller is an account, whose team stands in for a party's
# contacts left out.
TEAM_DEFAULT = "team_default"


def _contacts_schema(schema: dict[str, Any]) -> None:
    """The document states the rule for the operator: contacts required, a list (an
    account's key may leave them out, as the description says)."""
    listed = next(s for s in schema.pop("anyOf") if s.get("type") == "array")
    schema.pop("default", None)
    schema.update(listed)


class Party(Strict):
    model_config = ConfigDict(json_schema_extra={"required": ["contacts"]})

    contacts: Annotated[list[Contact], Field(min_length=1, max_length=20)] | None = Field(
        default=None,
        validate_default=True,
        description="Required, but with a business customer's account key: left out, the"
        " party's contacts are the account's team (422 if it has none).",
        json_schema_extra=_contacts_schema,
    )

    @field_validator("contacts", mode="after")
    @classmethod
    def _given(cls, value: list[Contact] | None, info: ValidationInfo) -> list[Contact] | None:
        if value is None and not (info.context or {}).get(TEAM_DEFAULT):
            raise PydanticCustomError("missing", "Field required")
        return value


class RegisterShipment(Strict):
    shipment_id: Id
    event_id: EventId | None = Field(
        default=None, description="Made by the client so that a retry is recognised."
    )
    occurred_at: TapTime | None = None
    sender: Party
    recipient: Party
    courier_id: Id | None = Field(
        default=None, description="The courier it is assigned to, whose app lists it."
    )
    delivery_address: AddressLine | None = Field(
        default=None, description="One line, shown to the courier only (personal data)."
    )
    depot: PlaceName | None = Field(
        default=None,
        description="The depot answerable for it: its supervisor hears of unhappy customers"
        " (SHIPNOTIFY_DEPOTS); by default the depot of its latest status.",
    )


class Location(Strict):
    depot: PlaceName | None = None
    city: PlaceName | None = None
    country_code: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None


class StatusEvent(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "description": "`failure` goes with `delivery_attempted`, and only with it;"
            " `received_by` only with `delivered`.",
            "allOf": [
                {
                    "if": {
                        "required": ["status"],
                        "properties": {"status": {"const": Status.DELIVERY_ATTEMPTED.value}},
                    },
                    "then": _given("failure"),
                    "else": {"properties": {"failure": {"type": "null"}}},
                },
                {
                    "if": {
                        "required": ["status"],
                        "properties": {"status": {"const": Status.DELIVERED.value}},
                    },
                    "else": {"properties": {"received_by": {"type": "null"}}},
                },
            ],
        }
    )

    event_id: EventId = Field(description="Made by the app at the tap; a retry sends it again.")
    occurred_at: TapTime = Field(description="When the courier tapped. " + TAP_TIME_RULE)
    status: CourierStatus
    failure: AttemptFailure | None = Field(
        default=None, description="Why the attempt failed; required with delivery_attempted."
    )
    location: Location | None = None
    received_by: Name | None = Field(
        default=None, description="Who took the parcel (a name); only with delivered."
    )

    @model_validator(mode="after")
    def _failure_with_attempt(self) -> StatusEvent:
        attempted = self.status == Status.DELIVERY_ATTEMPTED.value
        if attempted and self.failure is None:
            raise ValueError("failure is required with delivery_attempted")
        if not attempted and self.failure is not None:
            raise ValueError("failure goes only with delivery_attempted")
        if self.received_by is not None and self.status != Status.DELIVERED.value:
            raise ValueError("received_by goes only with delivered")
        return self


class BatchStatusEvent(StatusEvent):
    shipment_id: Id


class StatusBatch(Strict):
    """Taps an app kept while offline, oldest first. Items are checked one by one."""

    # Each item is checked on its own: an invalid one gets its result, never fails the batch.
    events: Annotated[list[BatchStatusEvent | dict[str, Any]], Field(min_length=1)]


class RawBatch(Strict):
    events: Annotated[list[dict[str, object]], Field(min_length=1)]


class AssignCourier(Strict):
    courier_id: Id | None = Field(description="The courier; null gives the shipment to nobody.")


class Recipient(BaseModel):
    name: str
    phone: str | None = None
    address: str | None = None


class Stop(BaseModel):
    """A shipment as the courier's app lists it: what the job needs, no more."""

    shipment_id: str
    tracking_id: str
    status: str | None = Field(default=None, description="None before its registration.")
    status_at: datetime | None = None
    recipient: Recipient | None = Field(default=None, description="None once erased.")
    next: list[str] = Field(description="The statuses a tap may move it to now.")


class Run(BaseModel):
    courier_id: str
    shipments: list[Stop]
    progress: dict[str, list[str]] = Field(
        description="For each status, the taps that move a shipment on from it: the app"
        " works out a stop's next buttons itself after a tap made offline."
    )


class Accepted(BaseModel):
    event_id: uuid.UUID
    shipment_id: str


class Registered(Accepted):
    tracking_id: str
    tracking_url: str


class ItemResult(BaseModel):
    index: int
    result: Literal["accepted", "rejected"]
    status: int | None = Field(
        default=None, description="404: no such shipment (or another account's)."
    )
    event_id: uuid.UUID | None = None
    fields: dict[str, str] | None = None


class BatchResult(BaseModel):
    accepted: int
    rejected: int
    results: list[ItemResult]
