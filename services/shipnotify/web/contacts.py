"""A person to tell, as the request bodies take one: a registration's contact (ingest's
shipment API) and a business customer's team member (the account API and the console's team
page): a name, a phone in E.164 and an email address (at least one), a language, a time
zone, the channels chosen and the statuses heard. Each rule is stated in its JSON Schema,
which is the OpenAPI document's."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import phonenumbers
from pydantic import AfterValidator, ConfigDict, Field, WithJsonSchema, model_validator

from shipnotify.web.fields import Locale, Strict, TimeZone, matching, printable

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

Name = Annotated[str, *printable(200)]


# -- addresses

PHONE_PATTERN = r"^\+[1-9][0-9]{1,14}$"
_PHONE_SHAPE = matching(PHONE_PATTERN, "not a phone number in E.164 form, such as +40721234567")


def _e164(value: str) -> str:
    _PHONE_SHAPE(value)
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number (E.164, such as +40721234567)")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


Phone = Annotated[
    str,
    AfterValidator(_e164),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": PHONE_PATTERN,
            # not a registered format: "a number libphonenumber (phonenumbers) deems valid"
            "format": "e164",
            "description": "E.164: + and the digits, no spaces; a number valid by"
            " libphonenumber's metadata (format `e164`).",
        }
    ),
]

# ASCII addresses (a dot-atom local part and a host name), as the mail relay is spoken to
# without SMTPUTF8: an internationalised domain goes in its xn-- form.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TOP = r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})"  # letters, or an IDN's xn-- form
EMAIL_PATTERN = rf"^{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+{_TOP}$"
LOCAL_PART_PATTERN = r"^[^@]{1,64}@"  # RFC 5321: at most 64 octets before the @
_EMAIL_SHAPE = matching(EMAIL_PATTERN, "not an email address such as ana@example.com")


def _email(value: str) -> str:
    _EMAIL_SHAPE(value)
    if len(value) > 254 or len(value.partition("@")[0]) > 64:
        raise ValueError("too long for an email address (254 characters, 64 before the @)")
    return value


Email = Annotated[
    str,
    AfterValidator(_email),
    WithJsonSchema(
        {
            "type": "string",
            "format": "email",
            "maxLength": 254,
            "pattern": EMAIL_PATTERN,
            "allOf": [{"pattern": LOCAL_PART_PATTERN}],
            "description": "An ASCII address; an internationalised domain in its xn-- form.",
        }
    ),
]


def given(field: str) -> dict[str, Any]:
    """JSON Schema: `field` is there and not null."""
    return {"required": [field], "properties": {field: {"not": {"type": "null"}}}}


def _channel_needs(channel: Channel, field: str) -> dict[str, Any]:
    chosen = {"type": "array", "contains": {"const": channel}}
    return {
        "if": {"required": ["channels"], "properties": {"channels": chosen}},
        "then": given(field),
    }


class Contact(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "description": "A phone or an email (or both); a channel chosen needs its address.",
            "anyOf": [given("phone"), given("email")],
            "allOf": [_channel_needs("sms", "phone"), _channel_needs("email", "email")],
        }
    )

    name: Name
    phone: Phone | None = None
    email: Email | None = None
    locale: Locale = "en"
    time_zone: TimeZone = "UTC"
    channels: list[Channel] | None = Field(
        default=None, description="Preferred channels; by default every channel with an address."
    )
    statuses: list[CourierStatus] | None = Field(
        default=None,
        description="Statuses this contact hears about; by default the party's usual ones.",
    )
    surveys: bool = Field(
        default=True,
        description="Whether this contact may be asked the question after delivery (a party"
        " is asked through its first contact that may).",
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
