"""The landing page's form nonce: made when the page is shown, tied to the survey's token by
a MAC, so that a POST naming it came from a page of that survey (a form on another site
cannot make one). It names the answer too: the answer's event id is made of the token and
the nonce, so the same form sent again is the same event."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_RANDOM_BYTES = 16
_MAC_BYTES = 12


def make(secret: str, token: str) -> str:
    random = _b64(secrets.token_bytes(_RANDOM_BYTES))
    return f"{random}.{_mac(secret, token, random)}"


def valid(secret: str, token: str, nonce: str) -> bool:
    random, _, mac = nonce.partition(".")
    expected = _mac(secret, token, random).encode()
    return bool(random) and hmac.compare_digest(mac.encode(), expected)


def _mac(secret: str, token: str, random: str) -> str:
    digest = hmac.new(secret.encode(), f"nonce:{token}:{random}".encode(), hashlib.sha256)
    return _b64(digest.digest()[:_MAC_BYTES])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
