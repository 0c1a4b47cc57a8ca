"""Who is calling: the order system (API key) or a courier (signed, expiring token)."""

from __future__ import annotations

import hmac
import time
from collections.abc import Sequence

import jwt

from shipnotify.web import ApiError

AUDIENCE = "shipnotify:courier"
ALGORITHM = "HS256"  # pinned: a token naming another algorithm is refused


def issue_courier_token(secret: str, courier_id: str, ttl_s: int, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    claims = {"sub": courier_id, "aud": AUDIENCE, "iat": issued, "exp": issued + ttl_s}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def courier_id_from(authorization: str | None, secret: str) -> str:
    """The courier named by a valid `Authorization: Bearer` token; 401 otherwise."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("missing bearer token")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["exp", "iat", "sub", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise _unauthorized("token expired") from None
    except jwt.InvalidTokenError as e:
        raise _unauthorized(f"invalid token: {e}") from None
    return str(claims["sub"])


def check_api_key(presented: str | None, keys: Sequence[str]) -> None:
    # Compare against every key, in constant time, so timing tells nothing.
    ok = False
    for key in keys:
        ok |= hmac.compare_digest((presented or "").encode(), key.encode())
    if not ok:
        raise ApiError(401, "unauthorized", "missing or unknown API key", {"X-Api-Key": "unknown"})


def _unauthorized(reason: str) -> ApiError:
    return ApiError(
        401,
        "unauthorized",
        reason,
        {"Authorization": reason},
        {"WWW-Authenticate": 'Bearer realm="shipnotify"'},
    )
