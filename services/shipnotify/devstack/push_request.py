"""What a push service checks in a request to deliver a push message, before it takes it: the
VAPID authorization (RFC 8292), the delivery headers (RFC 8030) and the encrypted content
(aes128gcm, RFC 8291). Pure: each check raises `Refused` with the status and short reason
the push service answers."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import http_ece
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.types import Options

MAX_EXPIRY_S = 24 * 3600  # RFC 8292 §2: "exp" at most 24 hours after the request
# RFC 8030 §7.2: the least a push service must take, and the most the browsers' ones do.
MAX_CONTENT_BYTES = 4096
URGENCIES = frozenset({"very-low", "low", "normal", "high"})  # RFC 8030 §5.3
CONTENT_ENCODING = "aes128gcm"

_TTL = re.compile(r"[0-9]+")  # delta-seconds
_TOPIC = re.compile(r"[A-Za-z0-9_-]{1,32}")  # RFC 8030 §5.4: up to 32 base64url characters
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
# RFC 8292 §3.2: only the claims it names count; the sandbox judges time by its own clock.
_JWT_OPTIONS: Options = {
    "require": ["aud", "exp", "sub"],
    "strict_aud": True,  # one origin, as a string
    "verify_exp": False,
    "verify_iat": False,
    "verify_nbf": False,
}


class Refused(Exception):
    def __init__(self, status: int, reason: str, headers: Mapping[str, str] | None = None):
        super().__init__(reason)
        self.status, self.reason = status, reason
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class Delivery:
    """The RFC 8030 headers of a push request."""

    ttl: int
    urgency: str | None = None
    topic: str | None = None


def vapid(authorization: str, *, audience: str, now: float, restricted_to: bytes | None) -> str:
    """The "sub" of a valid `vapid t=<JWT>, k=<key>` authorization of a push to a subscription
    of origin `audience`; `restricted_to` is the application server key the subscription was
    made with, if any."""
    token, key = _vapid_params(authorization)
    try:
        public_key = p256_public_key(key)
    except ValueError:
        raise Refused(401, "VAPID: k is not an uncompressed P-256 public key") from None
    try:
        claims = jwt.decode(
            token, public_key, algorithms=["ES256"], audience=audience, options=_JWT_OPTIONS
        )
    except jwt.InvalidTokenError as e:
        raise Refused(401, f"VAPID: {e}") from None
    exp = claims["exp"]
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        raise Refused(401, "VAPID: exp is not a time")
    if exp <= now:
        raise Refused(401, "VAPID: the token has expired")
    if exp > now + MAX_EXPIRY_S:
        raise Refused(401, "VAPID: exp is more than 24 hours ahead")
    if not _is_contact(claims["sub"]):
        raise Refused(401, "VAPID: sub is not a mailto: or https: URL")
    if restricted_to is not None and from_b64url(key) != restricted_to:
        raise Refused(403, "VAPID: k is not the key the subscription was made with")
    return str(claims["sub"])


def delivery(headers: Mapping[str, str]) -> Delivery:
    """TTL (required), Urgency and Topic; `headers` looked up without regard to case."""
    ttl = headers.get("TTL")
    if ttl is None:
        raise Refused(400, "TTL header required")
    if not _TTL.fullmatch(ttl):
        raise Refused(400, "TTL must be a number of seconds")
    urgency = headers.get("Urgency")
    if urgency is not None and urgency not in URGENCIES:
        raise Refused(400, f"Urgency must be one of {', '.join(sorted(URGENCIES))}")
    topic = headers.get("Topic")
    if topic is not None and not _TOPIC.fullmatch(topic):
        raise Refused(400, "Topic must be 1 to 32 base64url characters")
    return Delivery(int(ttl), urgency, topic)


def content(
    body: bytes,
    encoding: str | None,
    *,
    private_key: ec.EllipticCurvePrivateKey,
    auth_secret: bytes,
) -> bytes:
    """The plaintext of an aes128gcm body for the subscription with these keys; an empty body
    is a push message without data (RFC 8030 §5)."""
    if len(body) > MAX_CONTENT_BYTES:
        raise Refused(413, f"the body is over {MAX_CONTENT_BYTES} bytes")
    if not body:
        return b""
    if encoding != CONTENT_ENCODING:
        # RFC 9110 §15.5.16: a 415 for a content coding names the ones accepted.
        raise Refused(
            415,
            f"Content-Encoding must be {CONTENT_ENCODING}",
            {"Accept-Encoding": CONTENT_ENCODING},
        )
    try:
        return bytes(
            http_ece.decrypt(
                body, private_key=private_key, auth_secret=auth_secret, version=CONTENT_ENCODING
            )
        )
    except (http_ece.ECEException, ValueError):
        raise Refused(400, "the body does not decrypt with the subscription's keys") from None


def p256_public_key(b64url: str) -> ec.EllipticCurvePublicKey:
    """A P-256 public key in the uncompressed form (65 bytes), base64url-encoded, as Web Push
    writes them (RFC 8291 "p256dh", RFC 8292 "k"); ValueError if it is not one."""
    raw = from_b64url(b64url)
    if len(raw) != 65 or raw[0] != 4:
        raise ValueError("not an uncompressed P-256 point")
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)


def to_b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def from_b64url(text: str) -> bytes:
    """Strict: a character outside the base64url alphabet is an error, not skipped."""
    text = text.rstrip("=")
    if not _B64URL.fullmatch(text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _vapid_params(authorization: str) -> tuple[str, str]:
    scheme, _, rest = authorization.strip().partition(" ")
    if scheme.lower() != "vapid":
        raise Refused(401, "VAPID authorization required: vapid t=<JWT>, k=<key>")
    params: dict[str, str] = {}
    for param in rest.split(","):
        name, eq, value = param.strip().partition("=")
        if not eq:
            raise Refused(401, "VAPID: a parameter without a value")
        params[name.lower()] = value
    if "t" not in params or "k" not in params:
        raise Refused(401, "VAPID: both t and k are required")
    return params["t"], params["k"]


def _is_contact(sub: object) -> bool:
    """RFC 8292 §2.1: a "mailto:" or "https:" URI the push service can reach the sender by."""
    if not isinstance(sub, str):
        return False
    url = urlsplit(sub)
    if url.scheme == "mailto":
        local, at, domain = url.path.rpartition("@")
        return bool(local and at and domain)
    return url.scheme == "https" and bool(url.hostname)
