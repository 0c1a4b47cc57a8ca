"""Public tracking ids: unguessable, yet the same for the same shipment on every retry."""

from __future__ import annotations

import base64
import hashlib
import hmac

TRACKING_ID_LENGTH = 20  # base32 characters: 100 bits


def tracking_id_for(secret: str, shipment_id: str) -> str:
    digest = hmac.new(secret.encode(), shipment_id.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:TRACKING_ID_LENGTH]


def tracking_url(public_url: str, tracking_id: str) -> str:
    """The link customers get (in the registration reply and in every notice); short, so
    that a Cyrillic SMS with it still fits one segment."""
    return f"{public_url.rstrip('/')}/t/{tracking_id}"


def sign_in_url(app_url: str, token: str) -> str:
    """The link that signs a courier's phone in to the app: the token in the fragment, which
    the browser never sends to a server (so no access log keeps it)."""
    return f"{app_url.rstrip('/')}/courier/#token={token}"
