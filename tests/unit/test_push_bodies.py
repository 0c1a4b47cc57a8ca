"""The push subscription bodies hooks accepts: the key patterns admit exactly the base64url
spellings of the bytes they name, a browser's real key passes, and the CORS rule answers
the tracking page's origin alone."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from shipnotify.hooks import push
from shipnotify.web import ApiError, cors

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decoded(text: str) -> bytes | None:
    """The bytes `text` spells in canonical base64url without padding, or None."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        return None
    return raw if b64url(raw) == text else None


def matches(pattern: str, text: str) -> bool:
    return re.fullmatch(pattern.removeprefix("^").removesuffix("$"), text) is not None


@given(st.binary(min_size=64, max_size=66))
def test_p256dh_admits_every_65_byte_uncompressed_point_and_nothing_else(raw: bytes) -> None:
    assert matches(push.P256DH_PATTERN, b64url(raw)) == (len(raw) == 65 and raw[0] == 4)


@given(st.text(alphabet=B64URL, min_size=86, max_size=88))
def test_what_p256dh_admits_decodes_to_such_a_point(text: str) -> None:
    raw = decoded(text)
    if matches(push.P256DH_PATTERN, text):
        assert raw is not None
        assert (len(raw), raw[0]) == (65, 4)
    else:
        assert raw is None or len(raw) != 65 or raw[0] != 4


@given(st.binary(min_size=15, max_size=17))
def test_auth_admits_every_16_bytes_and_nothing_else(raw: bytes) -> None:
    assert matches(push.AUTH_PATTERN, b64url(raw)) == (len(raw) == 16)


@given(st.text(alphabet=B64URL, min_size=21, max_size=23))
def test_what_auth_admits_decodes_to_16_bytes(text: str) -> None:
    raw = decoded(text)
    assert matches(push.AUTH_PATTERN, text) == (raw is not None and len(raw) == 16)


def browser_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = serialization.PublicFormat.UncompressedPoint
    return b64url(key.public_bytes(serialization.Encoding.X962, point))


def body(**changes: Any) -> dict[str, Any]:
    subscription = {
        "endpoint": "https://fcm.googleapis.com/fcm/send/dQw4w9WgXcQ:APA91bH-x_y",
        "expirationTime": None,
        "keys": {"p256dh": browser_key(), "auth": b64url(bytes(range(16)))},
    }
    return {
        "tracking_id": "abcdefghijklmnopqrst",
        "subscription": subscription,
        "locale": "ro",
        "time_zone": "Europe/Chisinau",
        **changes,
    }


def test_a_browsers_subscription_is_read_as_it_is() -> None:
    given_body = body()
    read = push.PushSubscribe.model_validate_json(json.dumps(given_body))
    assert read.subscription.keys.p256dh == given_body["subscription"]["keys"]["p256dh"]
    assert read.subscription.endpoint == given_body["subscription"]["endpoint"]


@pytest.mark.parametrize(
    ("endpoint", "valid"),
    [
        ("https://updates.push.services.mozilla.com/wpush/v2/gAAAAABn", True),
        ("https://web.push.apple.com/QGuQyavXutnMH:8080?x=1&y=%20", True),
        ("http://127.0.0.1:9100/push/abc", True),
        ("http://localhost:9100/push/abc", True),
        ("http://[::1]:9100/push/abc", True),
        ("http://example.com/push/abc", False),
        ("http://127.0.0.1.example.com/push", False),
        ("ftp://example.com/push", False),
        ("https://", False),
        ("https://exa mple.com/push", False),
        ("https://example.com/pu sh", False),
        ("https://-example.com/push", False),
        ("https://example.com/" + "a" * 2028, True),  # 2,048 characters
        ("https://example.com/" + "a" * 2029, False),
    ],
)
def test_an_endpoint_is_https_or_a_loopback_http(endpoint: str, valid: bool) -> None:
    change = {**body()["subscription"], "endpoint": endpoint}
    errors: list[Any] = []
    try:
        push.PushSubscribe.model_validate_json(json.dumps(body(subscription=change)))
    except ValidationError as e:
        errors = [err["loc"] for err in e.errors()]
    assert errors == ([] if valid else [("subscription", "endpoint")])


# -- CORS


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://track.example.com", "https://track.example.com"),
        ("https://Track.Example.com:443/base", "https://track.example.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://track.example:80/", "http://track.example"),
        ("https://[::1]:8443", "https://[::1]:8443"),
    ],
)
def test_the_origin_of_a_url_is_as_a_browser_names_it(url: str, origin: str) -> None:
    assert cors.origin_of(url) == origin


RULE = cors.CorsRule("https://track.example.com", methods=("POST", "DELETE"))


def test_the_pages_origin_may_post_and_delete_json() -> None:
    headers = RULE.preflight("https://track.example.com", "DELETE", "Content-Type")
    assert headers["Access-Control-Allow-Origin"] == "https://track.example.com"
    assert headers["Access-Control-Allow-Methods"] == "POST, DELETE"
    assert headers["Access-Control-Allow-Headers"] == "content-type"
    assert headers["Vary"] == "Origin"
    assert RULE.answer("https://track.example.com")["Access-Control-Allow-Origin"] == (
        "https://track.example.com"
    )


@pytest.mark.parametrize(
    ("origin", "method", "headers", "field"),
    [
        ("https://evil.example", "POST", "content-type", "Origin"),
        ("https://track.example.com.evil.example", "POST", None, "Origin"),
        (None, "POST", None, "Origin"),
        ("https://track.example.com", "PUT", None, "Access-Control-Request-Method"),
        ("https://track.example.com", None, None, "Access-Control-Request-Method"),
        (
            "https://track.example.com",
            "POST",
            "content-type, x-api-key",
            "Access-Control-Request-Headers",
        ),
    ],
)
def test_anything_else_is_refused_naming_what(
    origin: str | None, method: str | None, headers: str | None, field: str
) -> None:
    with pytest.raises(ApiError) as refused:
        RULE.preflight(origin, method, headers)
    assert refused.value.status == 403
    assert list(refused.value.fields) == [field]


def test_another_origin_reads_no_answer() -> None:
    assert RULE.answer("https://evil.example") == {"Vary": "Origin"}
    assert RULE.answer(None) == {"Vary": "Origin"}
