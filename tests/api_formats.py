"""Generators for what the OpenAPI document states beyond plain JSON Schema, registered with
schemathesis: the unit tests import this module, and `schemathesis run` loads it as its hooks
(SCHEMATHESIS_HOOKS).

- `e164`: a phone number libphonenumber deems valid; drawn from its example numbers.
- `date-time`: request bodies carry date-times only as tap times, which the document says
  must lie between the server's maximum tap age ago and 5 minutes ahead; drawn from that
  window (a day away from each end), with various offsets and precisions.

Positive data is only what the document allows, so `filter_case` leaves out two kinds of
bodies schemathesis calls positive: those the document rejects (schemathesis reads a Unicode
property escape such as \\p{M} as a fixed list of ranges that holds unassigned code points,
such as U+20F1, and judges its draws by that list too), and those whose tap time lies
outside the window the document states in words (its coverage phase draws boundary values,
such as the year 9464, without the formats). The document's verdict is jsonschema-rs's, on
the document itself, with `e164` as above.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import jsonschema_rs
import phonenumbers
import schemathesis
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.hooks import HookContext

from shipnotify.config import Settings

_KINDS = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)


def _example_numbers() -> list[str]:
    numbers = set()
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in _KINDS:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None and phonenumbers.is_valid_number(number):
                numbers.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return sorted(numbers)


PHONES = st.sampled_from(_example_numbers())

MAX_AGE = timedelta(days=Settings.model_fields["max_tap_age_days"].default)
MAX_AHEAD = timedelta(minutes=5)
_WINDOW_S = int((MAX_AGE - timedelta(days=1)).total_seconds())


def _tap_time(seconds_ago: int, offset_minutes: int, precision: str) -> str:
    zone = timezone(timedelta(minutes=offset_minutes))
    when = (datetime.now(UTC) - timedelta(seconds=seconds_ago)).astimezone(zone)
    text = when.isoformat(timespec=precision)
    return text.replace("+00:00", "Z") if offset_minutes == 0 else text


TAP_TIMES = st.builds(
    _tap_time,
    st.integers(60, _WINDOW_S),
    st.sampled_from([0, 180, 120, -300, 330, 845, -570]),
    st.sampled_from(["seconds", "milliseconds", "microseconds"]),
)

schemathesis.openapi.format("e164", PHONES)
schemathesis.openapi.format("date-time", TAP_TIMES)


def valid_phone(value: str) -> bool:
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(value, None)))
    except phonenumbers.NumberParseException:
        return False


def validator(document: dict[str, Any], schema: dict[str, Any]) -> jsonschema_rs.Validator:
    """Judges `schema` (a part of `document`, its $refs into the document's components) as
    the document means it: its formats asserted, `e164` as defined above."""
    root = {**schema, "components": document.get("components", {})}
    return jsonschema_rs.validator_for(root, validate_formats=True, formats={"e164": valid_phone})


_BODY_VALIDATORS: dict[str, jsonschema_rs.Validator] = {}


def _document_allows(case: Case[Any]) -> bool:
    operation = case.operation
    if operation.label not in _BODY_VALIDATORS:
        content = operation.definition.raw["requestBody"]["content"]
        schema = content[case.media_type or "application/json"]["schema"]
        _BODY_VALIDATORS[operation.label] = validator(operation.schema.raw_schema, schema)
    return _BODY_VALIDATORS[operation.label].is_valid(case.body)


@schemathesis.hook
def filter_case(context: HookContext, case: Case[Any]) -> bool:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or not isinstance(case.body, dict):
        return True
    return _in_window(case.body.get("occurred_at")) and _document_allows(case)


def _in_window(value: object) -> bool:
    """False for a tap time the document's words rule out; True otherwise (absent, or not a
    time at all: the schema judges that)."""
    if not isinstance(value, str):
        return True
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return True
    if when.tzinfo is None:
        return True
    now = datetime.now(UTC)
    return now - MAX_AGE < when < now + MAX_AHEAD
