from __future__ import annotations

import time

import jwt
import pytest

from shipnotify.web import ApiError
from shipnotify.web.auth import AUDIENCE, check_api_key, courier_id_from, issue_courier_token


def forged(claims: dict[str, int], key: str, algorithm: str) -> str:
    return "Bearer " + jwt.encode(
        {"sub": "c", "aud": AUDIENCE, "iat": 1, **claims}, key, algorithm=algorithm
    )


SECRET = "s3cret-for-tests-" + "x" * 48  # 64 bytes: long enough for HS512 too


def test_token_names_the_courier() -> None:
    token = issue_courier_token(SECRET, "courier-42", 60)
    assert courier_id_from(f"Bearer {token}", SECRET) == "courier-42"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing bearer token"),
        ("Basic abc", "missing bearer token"),
        ("Bearer not.a.token", "invalid token"),
        (f"Bearer {issue_courier_token(SECRET, 'c', 60, now=time.time() - 3600)}", "expired"),
        (f"Bearer {issue_courier_token('another-secret-' + 'y' * 48, 'c', 60)}", "invalid token"),
        (forged({"exp": 2**40}, SECRET, "HS512"), "invalid token"),
        (forged({"exp": 2**40}, "", "none"), "invalid token"),
        (forged({}, SECRET, "HS256"), "invalid token"),  # no exp
    ],
)
def test_bad_tokens_are_refused_with_401(header: str | None, reason: str) -> None:
    with pytest.raises(ApiError) as raised:
        courier_id_from(header, SECRET)
    assert raised.value.status == 401
    assert reason in raised.value.message
    assert raised.value.headers["WWW-Authenticate"].startswith("Bearer")


def test_api_key_check() -> None:
    check_api_key("k2", ["k1", "k2"])
    for presented in (None, "", "k3", "k1k2"):
        with pytest.raises(ApiError):
            check_api_key(presented, ["k1", "k2"])
