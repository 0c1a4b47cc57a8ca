"""Keyed hashes of phone numbers and email addresses: the keys that remember a person
(an opt-out, a survey asked lately) hold no number or address."""

from __future__ import annotations

import base64
import hashlib
import hmac


def address_digest(secret: bytes, address: str) -> str:
    """A phone number's (E.164) or email address's keyed hash; an email address is compared
    lower-cased. The secret is SHIPNOTIFY_OPT_OUT_SECRET."""
    if not secret:
        raise RuntimeError("keeping a person's number or address needs SHIPNOTIFY_OPT_OUT_SECRET")
    text = address.lower() if "@" in address else address
    digest = hmac.new(secret, text.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")
