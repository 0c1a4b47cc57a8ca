"""A push service's checks of a push request, without a server: VAPID (RFC 8292), the delivery
headers (RFC 8030), the aes128gcm content (RFC 8291)."""

from __future__ import annotations

import os
from typing import Any

import http_ece
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from multidict import CIMultiDict

from shipnotify.devstack import push_request
from shipnotify.devstack.push_request import (
    MAX_EXPIRY_S,
    Delivery,
    Refused,
    from_b64url,
    to_b64url,
)

ORIGIN = "http://127.0.0.1:8765"
NOW = 1_800_000_000.0
KEY = ec.generate_private_key(ec.SECP256R1())


def raw_public(key: ec.EllipticCurvePrivateKey, form: PublicFormat) -> bytes:
    return key.public_key().public_bytes(Encoding.X962, form)


K = to_b64url(raw_public(KEY, PublicFormat.UncompressedPoint))


def authorization(k: str = K, separator: str = ", ", **claims: Any) -> str:
    token = jwt.encode(
        {"aud": ORIGIN, "exp": int(NOW) + 3600, "sub": "mailto:ops@carrier.example", **claims},
        KEY,
        algorithm="ES256",
    )
    return f"vapid t={token}{separator}k={k}"


def check(header: str, restricted_to: bytes | None = None) -> str:
    return push_request.vapid(header, audience=ORIGIN, now=NOW, restricted_to=restricted_to)


def refusal(header: str, restricted_to: bytes | None = None) -> tuple[int, str]:
    with pytest.raises(Refused) as e:
        check(header, restricted_to)
    return e.value.status, e.value.reason


# -- VAPID


@pytest.mark.parametrize("separator", [", ", ",", " , "])
def test_a_valid_authorization_gives_its_contact(separator: str) -> None:
    assert check(authorization(separator=separator)) == "mailto:ops@carrier.example"
    assert check(authorization().replace("vapid", "VAPID", 1)) == "mailto:ops@carrier.example"


@pytest.mark.parametrize(
    ("exp", "valid"),
    [
        (NOW + 1, True),
        (NOW + MAX_EXPIRY_S, True),
        (NOW + MAX_EXPIRY_S + 1, False),
        (NOW, False),
        (NOW - 60, False),
    ],
)
def test_exp_is_in_the_next_24_hours(exp: float, valid: bool) -> None:
    header = authorization(exp=int(exp))
    if valid:
        check(header)
    else:
        assert refusal(header)[0] == 401


def test_exp_must_be_a_time() -> None:
    assert refusal(authorization(exp="tomorrow")) == (401, "VAPID: exp is not a time")
    assert refusal(authorization(exp=True)) == (401, "VAPID: exp is not a time")


@pytest.mark.parametrize(
    ("sub", "valid"),
    [
        ("mailto:ops@carrier.example", True),
        ("https://carrier.example/contact", True),
        ("http://carrier.example", False),
        ("mailto:nobody", False),
        ("https://", False),
        ("ops@carrier.example", False),
        (42, False),
    ],
)
def test_sub_is_a_mailto_or_https_url(sub: object, valid: bool) -> None:
    header = authorization(sub=sub)
    if valid:
        assert check(header) == sub
    else:
        assert refusal(header)[0] == 401


def test_aud_is_the_endpoints_origin_as_one_string() -> None:
    assert refusal(authorization(aud=ORIGIN + "/"))[0] == 401
    assert refusal(authorization(aud=[ORIGIN]))[0] == 401  # a list would pass a lax check


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer abc",
        "vapid",
        "vapid t=abc",
        "vapid k=" + K,
        "vapid t, k=" + K,
        "vapid t=not.a.jwt, k=" + K,
        authorization(k=K[:-2]),  # not a point
        authorization(k=K + "!"),  # not base64url
        authorization(k=to_b64url(raw_public(KEY, PublicFormat.CompressedPoint))),
    ],
    ids=lambda h: h.replace(K, "K")[:24],  # the key is new each run: ids the same in every worker
)
def test_a_malformed_authorization_is_401(header: str) -> None:
    assert refusal(header)[0] == 401


def test_a_restricted_subscription_takes_only_its_key() -> None:
    other = ec.generate_private_key(ec.SECP256R1())

    assert check(authorization(), restricted_to=from_b64url(K))
    assert refusal(authorization(), raw_public(other, PublicFormat.UncompressedPoint)) == (
        403,
        "VAPID: k is not the key the subscription was made with",
    )


# -- the delivery headers


def test_delivery_reads_ttl_urgency_and_topic_in_any_case() -> None:
    headers = CIMultiDict({"ttl": "86400", "urgency": "very-low", "topic": "shipment_Q7K2-x"})

    assert push_request.delivery(headers) == Delivery(86400, "very-low", "shipment_Q7K2-x")
    assert push_request.delivery(CIMultiDict({"TTL": "0"})) == Delivery(0)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "TTL header required"),
        ({"TTL": "-1"}, "TTL must be a number of seconds"),
        ({"TTL": "1.5"}, "TTL must be a number of seconds"),
        ({"TTL": ""}, "TTL must be a number of seconds"),
        ({"TTL": "60", "Urgency": "urgent"}, "Urgency must be one of high, low, normal, very-low"),
        ({"TTL": "60", "Topic": "a" * 33}, "Topic must be 1 to 32 base64url characters"),
        ({"TTL": "60", "Topic": "a b"}, "Topic must be 1 to 32 base64url characters"),
        ({"TTL": "60", "Topic": ""}, "Topic must be 1 to 32 base64url characters"),
    ],
)
def test_bad_delivery_headers_are_400(headers: dict[str, str], reason: str) -> None:
    with pytest.raises(Refused) as e:
        push_request.delivery(CIMultiDict(headers))

    assert (e.value.status, e.value.reason) == (400, reason)


# -- the content


RECEIVER = ec.generate_private_key(ec.SECP256R1())
AUTH = os.urandom(16)


def encrypted(plaintext: bytes, auth: bytes = AUTH) -> bytes:
    return bytes(
        http_ece.encrypt(
            plaintext,
            private_key=ec.generate_private_key(ec.SECP256R1()),
            dh=raw_public(RECEIVER, PublicFormat.UncompressedPoint),
            auth_secret=auth,
            version="aes128gcm",
        )
    )


def content(body: bytes, encoding: str | None = "aes128gcm") -> bytes:
    return push_request.content(body, encoding, private_key=RECEIVER, auth_secret=AUTH)


def content_refusal(body: bytes, encoding: str | None = "aes128gcm") -> Refused:
    with pytest.raises(Refused) as e:
        content(body, encoding)
    return e.value


def test_content_is_decrypted() -> None:
    assert content(encrypted("Coletul tău".encode())) == "Coletul tău".encode()
    assert content(b"", None) == b""  # a push without data


@pytest.mark.parametrize(
    "body",
    [encrypted(b"x", auth=bytes(16)), b"garbage", encrypted(b"x")[:-1], bytes(120)],
)
def test_content_that_does_not_decrypt_is_400(body: bytes) -> None:
    assert content_refusal(body).status == 400


@pytest.mark.parametrize("encoding", [None, "aesgcm", "gzip"])
def test_another_content_encoding_is_415_naming_aes128gcm(encoding: str | None) -> None:
    refused = content_refusal(encrypted(b"x"), encoding)

    assert refused.status == 415
    assert refused.headers == {"Accept-Encoding": "aes128gcm"}


def test_content_over_4096_bytes_is_413() -> None:
    assert content(encrypted(b"x" * 3993)) == b"x" * 3993
    assert content_refusal(encrypted(b"x" * 3994)).status == 413


# -- base64url


def test_base64url_is_strict_and_unpadded() -> None:
    assert to_b64url(b"\xfb\xff") == "-_8"
    assert from_b64url("-_8") == from_b64url("-_8=") == b"\xfb\xff"
    for text in ("+/8", "a b", "a"):
        with pytest.raises(ValueError):  # noqa: PT011 (binascii.Error is one, and so is ours)
            from_b64url(text)
