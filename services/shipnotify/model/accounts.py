"""Business customers' accounts: their ids, API keys and webhook secrets, and the events
that change them (the accounts topic, keyed by account id)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import uuid
from datetime import UTC, datetime

from shipnotify.model import base36, webhooks
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import notifications_pb2 as npb

ID_DIGITS = 12
KEY_PREFIX = "sk_"
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
_KEY = re.compile(r"sk_[0-9a-z]{12}_[A-Za-z0-9_-]{43}")


def _id(prefix: str) -> str:
    n = secrets.randbelow(36**ID_DIGITS)
    return prefix + base36.encode(n).rjust(ID_DIGITS, "0")


def new_account_id() -> str:
    return _id("acct_")


def new_endpoint_id() -> str:
    return _id("ep_")


def new_key() -> tuple[str, str]:
    """(key id, the whole key): `sk_` + key id + `_` + 32 random bytes in base64url."""
    key_id = base36.encode(secrets.randbelow(36**ID_DIGITS)).rjust(ID_DIGITS, "0")
    return key_id, f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def looks_like_key(value: str) -> bool:
    """Whether a presented key has an account key's shape (else it is never looked up)."""
    return _KEY.fullmatch(value) is not None


def key_sha256(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_secret() -> str:
    """A webhook endpoint's signing secret: `whsec_` + base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def event(account_id: str, now: datetime | None = None, **body: object) -> apb.AccountEvent:
    """An account event with a new id, occurring and recorded now; `body`: one of its
    bodies by name, e.g. created=apb.AccountCreated(name="Acme")."""
    when = now or datetime.now(UTC)
    made = apb.AccountEvent(event_id=str(uuid.uuid4()), account_id=account_id, **body)  # type: ignore[arg-type]
    made.occurred_at.FromDatetime(when)
    made.recorded_at.FromDatetime(when)
    return made


def replayed(job: npb.NotificationJob, replay_event_id: str) -> npb.NotificationJob:
    """A webhook job sent again by a replay: the same message (the same webhook-id, its
    created_at kept), under a notification id of its own, UUIDv5(the job's, the replay's
    event id), so that the notifier's once-only claim lets it go again, once a replay."""
    again = npb.NotificationJob()
    again.CopyFrom(job)
    again.notification_id = webhooks.replay_notification_id(job.notification_id, replay_event_id)
    return again
