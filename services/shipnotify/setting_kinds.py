"""The kinds of value a setting has, each a type with its rule.

config.py gives every setting one of these. A value that breaks its kind's rule fails
validation with a message that says what is wrong; the kinds that secrets use never quote
the value, so that a secret cannot reach a log through its error.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable
from email.headerregistry import AddressHeader, HeaderRegistry
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AnyUrl, BeforeValidator, Field, TypeAdapter, UrlConstraints
from pydantic import ValidationError as _Invalid
from pydantic_settings import NoDecode

from shipnotify.model import survey
from shipnotify.model.quiet import parse_window

# ---- numbers ----

Port = Annotated[int, Field(ge=1, le=65535)]  # 0 would listen on a port chosen at random
Positive = Annotated[int, Field(gt=0)]
NonNegative = Annotated[int, Field(ge=0)]
PositiveReal = Annotated[float, Field(gt=0, allow_inf_nan=False)]


# ---- text ----


def _rule(check: Callable[[str], object], *, empty: bool = False) -> AfterValidator:
    """A rule on a string value; with `empty`, "" (not set) passes too."""

    def validate(value: str) -> str:
        if not (empty and value == ""):
            check(value)
        return value  # as given: to_env gives back what from_env read

    return AfterValidator(validate)


_HOST_NAME = re.compile(  # RFC 1123 labels; '_' too, as in container names (sms_sandbox)
    r"(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
    r"(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?"
)


def _host(value: str) -> None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        if not _HOST_NAME.fullmatch(value):
            raise ValueError("should be a host name or an IP address") from None


def _bootstrap(value: str) -> None:
    for server in value.split(","):
        try:
            parts = urlsplit("//" + server.strip())
            port = parts.port
        except ValueError as e:  # a port out of range or not a number
            raise ValueError(f"{server.strip()!r}: {str(e).lower()}") from None
        if parts.path or not parts.hostname or not port:
            raise ValueError(f"{server.strip()!r} is not host:port (servers are comma-separated)")
        _host(parts.hostname)


def _topic(value: str) -> None:
    # Kafka's own rule for topic names
    if value in (".", "..") or not re.fullmatch(r"[A-Za-z0-9._-]{1,249}", value):
        raise ValueError("should be 1 to 249 of letters, digits, '.', '_' and '-'")


def _url_of(*schemes: str) -> TypeAdapter[AnyUrl]:
    return TypeAdapter(Annotated[AnyUrl, UrlConstraints(allowed_schemes=list(schemes))])


_HTTP = _url_of("http", "https")
_REDIS = _url_of("redis", "rediss", "unix")


def _parsed(adapter: TypeAdapter[AnyUrl], value: str) -> AnyUrl:
    try:
        return adapter.validate_python(value)
    except _Invalid as e:
        raise ValueError(e.errors()[0]["msg"]) from None


def _base_url(value: str) -> None:
    """An absolute http(s) URL that paths are added to: no query, no fragment."""
    url = _parsed(_HTTP, value)
    if not url.host:
        raise ValueError("should be an absolute URL with a host")
    if url.query or url.fragment:
        raise ValueError("should have no query or fragment (paths are added to it)")


def _redis_url(value: str) -> None:
    url = _parsed(_REDIS, value)
    if url.scheme == "unix":
        if not url.path or url.path == "/":
            raise ValueError("a unix:// URL should name the socket's path")
    elif not url.host:
        raise ValueError("should name a host")
    elif (url.path or "/").strip("/") and not (url.path or "").strip("/").isdigit():
        raise ValueError("the path should be a database number, as in /0")


def _quiet_hours(value: str) -> None:
    parse_window(value)  # the notifier's own parser: one definition of the format


def _unhappy(scale: int) -> Callable[[str], object]:
    return lambda value: survey.parse_range(value, scale)


_FROM = HeaderRegistry()


def _mail_address(value: str) -> None:
    try:
        header = _FROM("From", value)
    except Exception:  # the stdlib parser raises assorted errors on some malformed input
        header = None
    if not (
        isinstance(header, AddressHeader)
        and not header.defects
        and len(header.addresses) == 1
        and header.addresses[0].username
        and header.addresses[0].domain
    ):
        raise ValueError("should be one email address, as in 'Name <user@example.com>'")


def _account_sid(value: str) -> None:
    if not re.fullmatch(r"AC[0-9a-fA-F]{32}", value):
        raise ValueError("should be an account SID: AC and 32 hex digits")


def _sms_sender(value: str) -> None:
    if not re.fullmatch(r"\+[1-9][0-9]{1,14}|MG[0-9a-fA-F]{32}", value):
        raise ValueError(
            "should be a number in E.164 (+ and up to 15 digits) or a Messaging Service SID"
            " (MG and 32 hex digits)"
        )


def _hs256_key(value: str) -> None:
    if len(value.encode()) < 32:  # RFC 7518: HS256 keys of 256 bits
        raise ValueError("should be at least 32 bytes (an HS256 key)")


def _base64url(value: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", value):
        raise ValueError("should be base64url (A-Z a-z 0-9 - _, no padding)")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except binascii.Error:
        raise ValueError("should be base64url (A-Z a-z 0-9 - _, no padding)") from None


def _vapid_private_key(value: str) -> None:
    if len(_base64url(value)) != 32:
        raise ValueError("should be a P-256 private key: its 32 bytes in base64url")


def _vapid_public_key(value: str) -> None:
    raw = _base64url(value)
    if len(raw) != 65 or raw[0] != 4:
        raise ValueError("should be a P-256 public key: its uncompressed point (65 bytes, 04...)")


def _vapid_subject(value: str) -> None:
    if not re.fullmatch(r"mailto:[^@\s]+@[^@\s]+|https://[^\s]+", value):
        raise ValueError("should be a mailto: or https: URL (RFC 8292's contact)")


def _time_zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("should be an IANA time zone, such as Europe/Chisinau or UTC") from None


def _network(value: str) -> None:
    try:
        ipaddress.ip_network(value)  # strict: 10.0.0.1/8 has host bits set, a likely mistake
    except ValueError as e:
        raise ValueError(str(e)) from None


def _listed(value: Any) -> Any:
    """A list setting is comma-separated in the environment (not JSON); blanks are dropped."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


Host = Annotated[str, _rule(_host)]
OptionalHost = Annotated[str, _rule(_host, empty=True)]
KafkaBootstrap = Annotated[str, _rule(_bootstrap)]
Topic = Annotated[str, _rule(_topic)]
Group = Annotated[str, Field(min_length=1)]
BaseUrl = Annotated[str, _rule(_base_url)]
OptionalBaseUrl = Annotated[str, _rule(_base_url, empty=True)]
RedisUrl = Annotated[str, _rule(_redis_url)]
QuietHours = Annotated[str, _rule(_quiet_hours)]
Depots = Annotated[str, _rule(survey.parse_depots, empty=True)]
TimeZone = Annotated[str, _rule(_time_zone)]
UnhappyCsat = Annotated[str, _rule(_unhappy(survey.SCALE_NAMES["csat"]))]
UnhappyNps = Annotated[str, _rule(_unhappy(survey.SCALE_NAMES["nps"]))]
UnhappyCes = Annotated[str, _rule(_unhappy(survey.SCALE_NAMES["ces"]))]
SurveyScale = Literal["csat", "nps", "ces"]
MailAddress = Annotated[str, _rule(_mail_address)]
AccountSid = Annotated[str, _rule(_account_sid, empty=True)]
SmsSender = Annotated[str, _rule(_sms_sender, empty=True)]
Hs256Key = Annotated[str, _rule(_hs256_key, empty=True)]
VapidPrivateKey = Annotated[str, _rule(_vapid_private_key, empty=True)]
VapidPublicKey = Annotated[str, _rule(_vapid_public_key, empty=True)]
VapidSubject = Annotated[str, _rule(_vapid_subject, empty=True)]
Csv = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_listed)]
Networks = Annotated[
    tuple[Annotated[str, _rule(_network)], ...], NoDecode, BeforeValidator(_listed)
]
LogLevel = Annotated[
    Literal["debug", "info", "warning", "error"],
    BeforeValidator(lambda v: v.lower() if isinstance(v, str) else v),
]
LogFormat = Literal["json", "console"]
