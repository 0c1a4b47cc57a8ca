"""What the request bodies of the HTTP deployables share: strict models, and the fields more
than one of them checks (a person's language and time zone), each with its rule stated in
its JSON Schema, which is the OpenAPI document's."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, WithJsonSchema


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
