"""What becomes of a webhook at each moment (notifier/decision.py), without I/O."""

from __future__ import annotations

import pytest

from shipnotify.model import webhooks as wh
from shipnotify.notifier import decision
from shipnotify.notifier.outcomes import Failed, Sent
from shipnotify.store.notices import Claim
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb

pytestmark = pytest.mark.redis_agnostic

RULES = decision.Rules(
    None, 2.0, 60.0, 3600.0, wh.Schedule(first_s=2.0, max_delay_s=600.0, max_age_s=72 * 3600)
)
NOW = 10_000_000_000
ENDPOINT = apb.Endpoint(endpoint_id="ep_1", url="https://example.com/in")


def job(created_ms: int = NOW) -> npb.NotificationJob:
    made = npb.NotificationJob(
        notification_id="n",
        shipment_id="S",
        channel=pb.CHANNEL_WEBHOOK,
        address="ep_1",
        webhook=npb.WebhookMessage(message_id="msg_1", endpoint_id="ep_1", payload=b"{}"),
    )
    made.webhook.created_at.FromMilliseconds(created_ms)
    made.planned_at.FromMilliseconds(created_ms)
    return made


def before(
    endpoint: apb.Endpoint | None, *, full: bool = False, paused: int | None = None
) -> decision.Final | decision.LookAgain | decision.Go:
    return decision.webhook_before_claim(endpoint, full=full, paused_until_ms=paused, now_ms=NOW)


def test_taken_up() -> None:
    assert before(ENDPOINT) == decision.Go()
    assert before(None) == decision.Final(
        "removed", reason="the endpoint was removed", tally="skipped"
    )
    off = apb.Endpoint(endpoint_id="ep_1", disabled=True, disabled_reason="answered 410")
    assert before(off) == decision.Final("disabled", reason="answered 410", tally="skipped")
    # full or paused: back to the due set, a little later; never claimed meanwhile
    full = before(ENDPOINT, full=True)
    assert isinstance(full, decision.LookAgain)
    assert NOW < full.earliest_ms <= full.latest_ms <= NOW + 1000
    paused = before(ENDPOINT, paused=NOW + 30_000)
    assert isinstance(paused, decision.LookAgain)
    assert paused.earliest_ms == NOW + 30_000


def after(
    outcome: Sent | Failed, *, created_ms: int = NOW, attempt: int = 1
) -> decision.Final | decision.GiveUp | decision.Retry:
    return decision.after_send(
        job(created_ms), outcome, claim=Claim(attempt, at_ms=NOW), now_ms=NOW, rules=RULES
    )


def test_answered() -> None:
    assert after(Sent("204")) == decision.Final("sent", provider_id="204", tally="sent")
    gone = after(Failed("endpoint answered 410", permanent=True, code="410", gone=True))
    assert isinstance(gone, decision.Final)
    assert gone.state == "gone"
    assert gone.disable_endpoint
    busy = after(Failed("503", permanent=False, code="503", retry_after_s=120.0))
    assert isinstance(busy, decision.Retry)
    assert busy.earliest_ms >= NOW + 120_000
    # the webhook's own cap on the backoff (600 s), not the SMS's (60 s)
    late = after(Failed("500", permanent=False, code="500"), attempt=20)
    assert isinstance(late, decision.Retry)
    assert NOW + 300_000 <= late.earliest_ms <= NOW + 600_000
    # 72 hours after the message was made: a dead letter
    old = NOW - 72 * 3600 * 1000 - 1
    dead = after(Failed("500", permanent=False, code="500"), created_ms=old, attempt=40)
    assert isinstance(dead, decision.GiveUp)
    assert dead.attempts == 40
    # the SMS's age limit (one hour) does not apply
    kept = after(Failed("500", permanent=False, code="500"), created_ms=NOW - 7200_000)
    assert isinstance(kept, decision.Retry)
