"""What the request bodies of the HTTP deployables share: strict models, and the fields more
than one of them checks (a person's language and time zone, a name or other text on one
line), each with its rule stated in its JSON Schema, which is the OpenAPI document's."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)


class Strict(BaseModel):
    """A body that names an unknown field is refused (422 naming it), not read in part."""

    model_config = ConfigDict(extra="forbid")


def matching(pattern: str, message: str) -> Callable[[object], object]:
    """A check that the input is a JSON string matching `pattern` (anchored, ASCII), before
    the type's own parsing, which is laxer (pydantic also takes `{uuid}` or a Unix time)."""
    compiled = re.compile(pattern.removeprefix("^").removesuffix("$"), re.ASCII)

    def check(value: object) -> object:
        if not isinstance(value, str) or not compiled.fullmatch(value):
            raise ValueError(message)
        return value

    return check


def whole(value: object) -> object:
    """A JSON integer (2 or 2.0), as JSON Schema's "integer" is: not true, not "2"."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("not a whole number")
    return value


# RFC 3339 with T and Z in capitals, seconds required, no leap second.
TIME_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)


_ZONES = frozenset(available_timezones())


def _time_zone(value: str) -> str:
    # a lookup among the known names: ZoneInfo itself would try any string as a file path
    if value not in _ZONES:
        raise ValueError("not an IANA time zone, such as Europe/Bucharest")
    return value


TimeZone = Annotated[
    str,
    AfterValidator(_time_zone),
    WithJsonSchema({"type": "string", "enum": sorted(_ZONES)}),
]
Locale = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")]


# -- free text on one line: a contact's name, a depot, a city, an operator

# What can appear in a name: letters, marks, numbers, punctuation, symbols and spaces (the
# general categories L, M, N, P, S and Zs), at least one of them not a space. So none of the
# category C (control and format characters: Cc, Cf; surrogates, private use, unassigned: Cs,
# Co, Cn), nor the line and paragraph separators (Zl, Zp). Of the format characters, ZWNJ and
# ZWJ (U+200C, U+200D) are allowed: Persian and the Indic scripts spell words with them and
# emoji sequences join by ZWJ, and neither breaks a line nor reorders text as the
# bidirectional controls do. (Zs is spelled out: its 17 characters are stable.)
_VISIBLE = r"\p{L}\p{M}\p{N}\p{P}\p{S}"
_SPACES = r"\u0020\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
_IN_TEXT = rf"[{_VISIBLE}{_SPACES}\u200c\u200d]"
TEXT_PATTERN = rf"^{_IN_TEXT}*[{_VISIBLE}]{_IN_TEXT}*$"
# pydantic's regex engine (Rust's, as most JSON Schema validators use) knows the categories.
_TEXT: TypeAdapter[str] = TypeAdapter(Annotated[str, StringConstraints(pattern=TEXT_PATTERN)])


def _printable(value: str) -> str:
    try:
        _TEXT.validate_python(value)
    except ValidationError:
        raise ValueError(
            "must have a visible character, and no control character, line break or other"
            " character that cannot appear in a name"
        ) from None
    return value.strip()


def printable(max_length: int) -> Any:
    """The rules of a one-line text of at most `max_length` characters (Annotated[str, ...])."""
    return (
        StringConstraints(max_length=max_length),
        AfterValidator(_printable),
        WithJsonSchema({"type": "string", "maxLength": max_length, "pattern": TEXT_PATTERN}),
    )
