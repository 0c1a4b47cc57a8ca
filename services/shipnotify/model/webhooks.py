"""Business customers' webhooks (Standard Webhooks): what a message says, which endpoints
hear it, and what an endpoint's answer makes of a try. Pure: the tracker and the notifier
plan the messages with it, the notifier's webhook lane sends them.

A message is made once, from its cause (an event type and the id of the event it tells of),
so a redelivered event makes the same message id (the `webhook-id`, the same on every try)
and the same JSON bytes; one job per endpoint that hears its type carries it."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import orjson

from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb

STATUS_CHANGED = "shipment.status_changed"
NOTICE_SENT = "notice.sent"
NOTICE_FAILED = "notice.failed"
SURVEY_ANSWERED = "survey.answered"
CASE_OPENED = "case.opened"
CASE_CLOSED = "case.closed"
EVENT_TYPES = (
    STATUS_CHANGED,
    NOTICE_SENT,
    NOTICE_FAILED,
    SURVEY_ANSWERED,
    CASE_OPENED,
    CASE_CLOSED,
)

_NAMESPACE = uuid.UUID("0c3f5d2a-8e41-5b7c-a6d9-2f4e1b8c7a30")


def message_id(event_type: str, cause_id: str) -> str:
    """The webhook-id: the same for the same cause (a redelivered event's message too)."""
    return "msg_" + uuid.uuid5(_NAMESPACE, f"{event_type}:{cause_id}").hex


def notification_id(msg_id: str, endpoint_id: str) -> str:
    """The job of one message to one endpoint, as the notifier's claim knows it."""
    return str(uuid.uuid5(uuid.UUID(hex=msg_id.removeprefix("msg_")), endpoint_id))


def replay_notification_id(first: str, replay_event_id: str) -> str:
    """A replay's job: a new notification id (the claim lets it go again), the same
    message (the same webhook-id)."""
    return str(uuid.uuid5(uuid.UUID(first), replay_event_id))


def disabled_event_id(endpoint_id: str, cause: str) -> str:
    """The EndpointDisabled event of one cause (a failing streak by its start, a 410 by its
    message): every notifier that sees the cause appends the same event, applied once."""
    return str(uuid.uuid5(_NAMESPACE, f"disabled:{endpoint_id}:{cause}"))


def team_notice_id(disabled_event_id: str, address: str) -> str:
    """A team member's email telling of a disabled endpoint: made from the EndpointDisabled
    event's id, so a repeat (another failing try, a crash) makes the same notice, sent once."""
    return str(uuid.uuid5(uuid.UUID(disabled_event_id), address))


def team_notices(
    event_id: str,
    alert: npb.EndpointAlert,
    team: Iterable[apb.TeamMember],
) -> list[npb.NotificationJob]:
    """One email per team member with an email address, in the member's language and time
    zone, telling that the endpoint was disabled (`event_id`: the EndpointDisabled's). The
    endpoint's notices are its own, under the endpoint id."""
    jobs = []
    for member in team:
        if not member.email:
            continue
        job = npb.NotificationJob(
            notification_id=team_notice_id(event_id, member.email),
            shipment_id=alert.endpoint_id,
            event_id=event_id,
            channel=pb.CHANNEL_EMAIL,
            address=member.email,
            name=member.name,
            locale=member.locale,
            time_zone=member.time_zone,
            kind=npb.NOTICE_KIND_ENDPOINT_DISABLED,
            endpoint_alert=alert,
        )
        job.occurred_at.CopyFrom(alert.disabled_at)
        job.planned_at.CopyFrom(alert.disabled_at)
        jobs.append(job)
    return jobs


def rfc3339(at: datetime) -> str:
    """UTC, milliseconds, `Z`: 2026-12-02T04:23:23.123Z."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def payload(event_type: str, at: datetime, data: Mapping[str, Any]) -> bytes:
    """The body every try sends: Standard Webhooks' recommended shape, compact JSON."""
    return orjson.dumps({"type": event_type, "timestamp": rfc3339(at), "data": dict(data)})


def _name(enum: Any, value: int, prefix: str) -> str | None:
    return enum.Name(value).removeprefix(prefix).lower() if value else None


def shipment_data(shipment_id: str, tracking_id: str, version: int) -> dict[str, Any]:
    """What every payload's data carries: receivers order a shipment's events by version."""
    return {"shipment_id": shipment_id, "tracking_id": tracking_id, "version": version}


def status_changed_data(
    *,
    shipment_id: str,
    tracking_id: str,
    version: int,
    status: int,
    occurred_at: datetime,
    failure: int = 0,
    location: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    return shipment_data(shipment_id, tracking_id, version) | {
        "status": _name(pb.Status, status, "STATUS_"),
        "occurred_at": rfc3339(occurred_at),
        "failure": _name(pb.AttemptFailure, failure, "ATTEMPT_FAILURE_"),
        "location": dict(location) if location else None,
    }


def notice_data(
    job: npb.NotificationJob, *, version: int, state: str, reason: str
) -> dict[str, Any]:
    """notice.sent / notice.failed: which notice of the shipment ended how (no address: the
    account's systems need not hold its customers' phone numbers)."""
    return shipment_data(job.shipment_id, job.tracking_id, version) | {
        "notification_id": job.notification_id,
        "channel": _name(pb.Channel, job.channel, "CHANNEL_"),
        "party": _name(npb.PartyRole, job.party, "PARTY_ROLE_"),
        "status": _name(pb.Status, job.status, "STATUS_"),
        "kind": _name(npb.NoticeKind, job.kind, "NOTICE_KIND_") or "status",
        "state": state,
        "reason": reason or None,
    }


@dataclass(frozen=True)
class Message:
    """One message of an account, before it is fanned out to its endpoints."""

    message_id: str
    event_type: str
    account_id: str
    shipment_id: str
    tracking_id: str
    payload: bytes
    created_ms: int
    event_id: str = ""  # the cause's event id (the book's record of the job)


def make(
    event_type: str,
    cause_id: str,
    *,
    account_id: str,
    shipment_id: str,
    tracking_id: str,
    version: int,
    at: datetime,
    data: Mapping[str, Any],
) -> Message:
    """A message about a shipment, made at `at` (its timestamp and created_at)."""
    body = payload(event_type, at, shipment_data(shipment_id, tracking_id, version) | dict(data))
    return Message(
        message_id(event_type, cause_id),
        event_type,
        account_id,
        shipment_id,
        tracking_id,
        body,
        int(at.timestamp() * 1000),
        cause_id,
    )


def hears(endpoint: apb.Endpoint, event_type: str) -> bool:
    """An endpoint not disabled hears the types it subscribed to (none named: every type)."""
    return not endpoint.disabled and (
        not endpoint.event_types or event_type in endpoint.event_types
    )


def fan_out(message: Message, endpoints: Iterable[apb.Endpoint]) -> list[npb.NotificationJob]:
    """One job per endpoint that hears the message, each with the same message."""
    jobs = []
    for endpoint in endpoints:
        if not hears(endpoint, message.event_type):
            continue
        job = npb.NotificationJob(
            notification_id=notification_id(message.message_id, endpoint.endpoint_id),
            shipment_id=message.shipment_id,
            event_id=message.event_id,
            tracking_id=message.tracking_id,
            channel=pb.CHANNEL_WEBHOOK,
            address=endpoint.endpoint_id,
            webhook=npb.WebhookMessage(
                message_id=message.message_id,
                event_type=message.event_type,
                account_id=message.account_id,
                endpoint_id=endpoint.endpoint_id,
                payload=message.payload,
            ),
        )
        job.webhook.created_at.FromMilliseconds(message.created_ms)
        job.planned_at.FromMilliseconds(message.created_ms)
        job.occurred_at.FromMilliseconds(message.created_ms)
        jobs.append(job)
    return jobs


def notice_event_type(channel: int, state: str) -> str | None:
    """The webhook a notice's end makes: sent, or failed for good (rejected, a dead letter);
    None for a webhook itself and for every other end (skipped, superseded, opted out...)."""
    if channel == pb.CHANNEL_WEBHOOK:
        return None
    return {"sent": NOTICE_SENT, "rejected": NOTICE_FAILED, "dead": NOTICE_FAILED}.get(state)


# -- what an answer means -------------------------------------------------------------------

Meaning = Literal["sent", "gone", "retry_after", "retry"]


def meaning(status: int) -> Meaning:
    """An endpoint's HTTP status: 2xx sent; 410 gone (the endpoint is disabled); 429 and 503
    retried not before Retry-After; anything else retried with backoff."""
    if 200 <= status < 300:
        return "sent"
    if status == 410:
        return "gone"
    if status in (429, 503):
        return "retry_after"
    return "retry"


def retry_after_s(value: str | None, *, now: datetime) -> float | None:
    """Retry-After (RFC 9110): seconds, or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


@dataclass(frozen=True)
class Schedule:
    """How a message's tries are spread: the first retry after `first_s`, doubling up to
    `max_delay_s`, until `max_age_s` after the message was made."""

    first_s: float
    max_delay_s: float
    max_age_s: float


def next_try_ms(
    attempt: int,
    *,
    created_ms: int,
    now_ms: int,
    retry_after: float | None,
    schedule: Schedule,
    rng: random.Random | None = None,
) -> int | None:
    """When try `attempt + 1` goes after try `attempt` failed (full jitter over the upper
    half of the backoff, never before a Retry-After); None once past the maximum age: the
    message is a dead letter."""
    if now_ms - created_ms > schedule.max_age_s * 1000:
        return None
    delay = min(schedule.max_delay_s, schedule.first_s * 2 ** min(attempt - 1, 62))
    due = now_ms + int((rng or random).uniform(delay / 2, delay) * 1000)
    if retry_after is not None:
        due = max(due, now_ms + int(min(retry_after, schedule.max_age_s) * 1000))
    return due
