"""Codecs: Kafka record bytes <-> ShipmentEvent, and the compact timeline entry kept in Redis."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import unquote

import orjson
from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp

from shipnotify.model import base36, day_figures, survey
from shipnotify.model.status import AttemptFailure, Status
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import feedback_pb2 as fpb
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb

MAX_ID_LENGTH = 128


class MalformedEvent(ValueError):
    """A record that cannot be applied; the message is the dead-letter reason."""


def decode_event(raw: bytes | None) -> pb.ShipmentEvent:
    if not raw:
        raise MalformedEvent("empty record")
    event = pb.ShipmentEvent()
    try:
        event.ParseFromString(raw)
    except DecodeError as e:
        raise MalformedEvent(f"not a ShipmentEvent: {e}") from None
    _check(event)
    return event


def decode_feedback(raw: bytes | None) -> fpb.FeedbackEvent:
    """A feedback event, or MalformedEvent naming what makes it one that cannot be applied."""
    if not raw:
        raise MalformedEvent("empty record")
    event = fpb.FeedbackEvent()
    try:
        event.ParseFromString(raw)
    except DecodeError as e:
        raise MalformedEvent(f"not a FeedbackEvent: {e}") from None
    _check_envelope(event)
    if not event.HasField("recorded_at"):  # the jobs it calls for are planned at it
        raise MalformedEvent("recorded_at is missing")
    body = event.WhichOneof("body")
    if body is None:
        raise MalformedEvent("event has no body")
    message = getattr(event, body)
    wanted = _FEEDBACK_IDS[body]
    if missing := [f"{body}.{name}" for name in wanted if not getattr(message, name)]:
        raise MalformedEvent(f"{', '.join(missing)} missing")
    if body == "survey_sent" and message.channel not in (pb.CHANNEL_SMS, pb.CHANNEL_EMAIL):
        raise MalformedEvent("survey_sent.channel is neither SMS nor email")
    if body in ("survey_sent", "survey_answered") and message.scale not in survey.RANGES:
        raise MalformedEvent(f"{body}.scale is not a scale")
    if body == "survey_answered" and not survey.in_scale(message.scale, message.score):
        raise MalformedEvent("survey_answered.score is off its scale")
    if body == "case_opened" and not message.HasField("due_at"):
        raise MalformedEvent("case_opened.due_at missing")
    if body in day_figures.NOTICE_EVENTS and not message.HasField("planned_at"):
        raise MalformedEvent(f"{body}.planned_at missing")
    if body == "notice_settled" and message.channel not in day_figures.CHANNEL_NAMES:
        raise MalformedEvent("notice_settled.channel is not a channel")
    return event


# What each feedback event must name; the rest may be empty.
_FEEDBACK_IDS: dict[str, tuple[str, ...]] = {
    "survey_sent": ("survey_id", "address", "notification_id"),
    "survey_answered": ("survey_id",),
    "follow_up_answered": ("survey_id", "reason"),
    "case_opened": ("case_id", "survey_id"),
    "case_taken": ("case_id",),
    "case_noted": ("case_id",),
    "case_closed": ("case_id",),
    "notice_settled": ("notification_id",),
    "notice_receipt": ("notification_id",),
}


def decode_account(raw: bytes | None) -> apb.AccountEvent:
    """An account event, or MalformedEvent naming what makes it one that cannot be applied."""
    if not raw:
        raise MalformedEvent("empty record")
    event = apb.AccountEvent()
    try:
        event.ParseFromString(raw)
        uuid.UUID(event.event_id)
    except DecodeError as e:
        raise MalformedEvent(f"not an AccountEvent: {e}") from None
    except ValueError:
        raise MalformedEvent(f"event_id is not a UUID: {event.event_id[:64]!r}") from None
    if not 0 < len(event.account_id) <= MAX_ID_LENGTH:
        raise MalformedEvent("account_id is empty or too long")
    if not event.HasField("occurred_at"):
        raise MalformedEvent("occurred_at is missing")
    body = event.WhichOneof("body")
    if body is None:
        raise MalformedEvent("event has no body")
    message = getattr(event, body)
    wanted = _ACCOUNT_IDS[body]
    if missing := [f"{body}.{name}" for name in wanted if not getattr(message, name)]:
        raise MalformedEvent(f"{', '.join(missing)} missing")
    if body == "endpoint_set" and not event.endpoint_set.endpoint.endpoint_id:
        raise MalformedEvent("endpoint_set.endpoint.endpoint_id missing")
    return event


# What each account event must name; the rest may be empty.
_ACCOUNT_IDS: dict[str, tuple[str, ...]] = {
    "created": ("name",),
    "key_added": ("key_id", "sha256"),
    "key_revoked": ("key_id",),
    "team_set": (),
    "survey_settings": (),
    "endpoint_set": (),
    "endpoint_removed": ("endpoint_id",),
    "endpoint_disabled": ("endpoint_id",),
    "webhooks_replayed": ("endpoint_id",),
}


def decode_job(raw: bytes | None) -> npb.NotificationJob:
    """A notification job, or MalformedEvent naming what makes it one that can never be
    sent. Another message that happens to parse (the wire format has no type tag) lacks what
    the planner always sets."""
    job = npb.NotificationJob()
    try:
        job.ParseFromString(raw or b"")
        uuid.UUID(job.notification_id)
    except (DecodeError, ValueError):
        raise MalformedEvent("not a NotificationJob") from None
    known = job.channel in (pb.CHANNEL_SMS, pb.CHANNEL_EMAIL, pb.CHANNEL_PUSH, pb.CHANNEL_WEBHOOK)
    if not (known and job.shipment_id and job.address and job.HasField("planned_at")):
        raise MalformedEvent("not a NotificationJob")
    if job.channel == pb.CHANNEL_WEBHOOK and not (
        job.webhook.message_id and job.webhook.endpoint_id == job.address and job.webhook.payload
    ):
        raise MalformedEvent("a webhook job without its message")
    if job.channel == pb.CHANNEL_WEBHOOK:
        return job  # its payload says what it tells; no status to check
    if job.kind == npb.NOTICE_KIND_ENDPOINT_DISABLED:  # of an endpoint, not of a shipment
        if not job.endpoint_alert.endpoint_id:
            raise MalformedEvent("an endpoint's notice without its endpoint")
        return job
    try:
        Status.from_proto(job.status)
        AttemptFailure.from_proto(job.failure)
    except ValueError as e:
        raise MalformedEvent(f"job: {e}") from None
    return job


def _check_envelope(event: pb.ShipmentEvent | fpb.FeedbackEvent) -> None:
    try:
        uuid.UUID(event.event_id)
    except ValueError:
        raise MalformedEvent(f"event_id is not a UUID: {event.event_id[:64]!r}") from None
    if not 0 < len(event.shipment_id) <= MAX_ID_LENGTH:
        raise MalformedEvent("shipment_id is empty or too long")
    if not event.HasField("occurred_at"):
        raise MalformedEvent("occurred_at is missing")


def _check(event: pb.ShipmentEvent) -> None:
    _check_envelope(event)
    body = event.WhichOneof("body")
    if body is None:
        raise MalformedEvent("event has no body")
    if body == "status_changed":
        try:
            Status.from_proto(event.status_changed.status)
            AttemptFailure.from_proto(event.status_changed.failure)
        except ValueError as e:
            raise MalformedEvent(str(e)) from None
    elif body == "registered" and not event.registered.tracking_id:
        raise MalformedEvent("registered.tracking_id is missing")
    elif body in ("push_subscribed", "push_unsubscribed") and not getattr(event, body).endpoint:
        raise MalformedEvent(f"{body}.endpoint is missing")
    elif body == "notice_sent_again":
        again = event.notice_sent_again
        for name in ("notification_id", "status_event_id"):
            try:
                uuid.UUID(getattr(again, name))
            except ValueError:
                raise MalformedEvent(f"notice_sent_again.{name} is not a UUID") from None


def event_status(event: pb.ShipmentEvent) -> Status:
    if event.WhichOneof("body") == "registered":
        return Status.REGISTERED
    return Status.from_proto(event.status_changed.status)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One event as the public timeline shows it: no personal data, no courier id."""

    status: Status
    occurred_at_ms: int
    recorded_at_ms: int
    failure: AttemptFailure | None = None
    location: dict[str, str] | None = None
    advanced: bool = False  # whether it became the current status when it arrived


def entry_for(event: pb.ShipmentEvent) -> TimelineEntry:
    status, failure, location = Status.REGISTERED, None, None
    if event.WhichOneof("body") == "status_changed":
        change = event.status_changed
        status = Status.from_proto(change.status)
        failure = AttemptFailure.from_proto(change.failure)
        if change.HasField("location"):
            place = change.location
            location = {k: v for k in _PLACE if (v := getattr(place, k))} or None
    return TimelineEntry(status, _ms(event.occurred_at), _ms(event.recorded_at), failure, location)


def _ms(t: Timestamp) -> int:
    return t.seconds * 1000 + t.nanos // 1_000_000  # as ToMilliseconds(), in a tenth the time


# -- the entry as stored -------------------------------------------------------------------
# Redis keeps a timeline hash as a listpack (one block, no allocation per entry) only while
# every value is at most hash-max-listpack-value, 64 bytes; so an entry is not JSON (67 to
# 143 bytes) but '|'-separated text, about 35 bytes:
#   s|o|r|f|depot|city|country_code|ap
# s the status and f the failure by their protobuf numbers (stable) in base 36, one
# character each (f empty: none); o occurred_at (ms) and r recorded_at minus occurred_at, in
# base 36; the location's fields, empty when absent, with '%' and '|' percent-escaped, so
# that '|' only separates; empty fields at the end of the head left out. The Redis script
# appends the last field, the outcome: a, the advanced flag (0|1), then p, the previous
# status's code (nothing: none). Long location names may take an entry past 64 bytes: that
# costs the listpack, never data. Entries stored as JSON before this layout ({...}) are
# still read, here and by the script.
_PLACE = ("depot", "city", "country_code")


# Each status's code, which the script also stores as an entry's previous status.
STATUS_CODES: dict[Status, str] = {s: base36.encode(s.proto) for s in Status}


def entry_head(entry: TimelineEntry) -> str:
    """The stored entry without its outcome, which the Redis script appends (`|<a><p>`)."""
    place = entry.location or {}
    fields = [
        STATUS_CODES[entry.status],
        base36.encode(entry.occurred_at_ms),
        base36.encode(entry.recorded_at_ms - entry.occurred_at_ms),
        base36.encode(entry.failure.proto) if entry.failure else "",
        *(place.get(k, "").replace("%", "%25").replace("|", "%7C") for k in _PLACE),
    ]
    # no escaped value holds '|', so this drops exactly the empty fields at the end
    return "|".join(fields).rstrip("|")


def entry_from_stored(raw: str | bytes) -> TimelineEntry:
    """An entry as the script stored it: compact, or JSON as stored before."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    if text.startswith("{"):
        return _entry_from_json(text)
    *head, outcome = text.split("|")
    status, occurred, recorded, failure, *place = head + [""] * (4 + len(_PLACE) - len(head))
    occurred_at_ms = base36.decode(occurred)
    return TimelineEntry(
        status=Status.from_proto(base36.decode(status)),
        occurred_at_ms=occurred_at_ms,
        recorded_at_ms=occurred_at_ms + base36.decode(recorded),
        failure=AttemptFailure.from_proto(base36.decode(failure)) if failure else None,
        # every '%' in a value begins an escape, so unquote restores it exactly
        location={k: unquote(v) for k, v in zip(_PLACE, place, strict=True) if v} or None,
        advanced=outcome.startswith("1"),
    )


def _entry_from_json(raw: str) -> TimelineEntry:
    doc = orjson.loads(raw)
    return TimelineEntry(
        status=Status(doc["s"]),
        occurred_at_ms=doc["o"],
        recorded_at_ms=doc["r"],
        failure=AttemptFailure(doc["f"]) if "f" in doc else None,
        location=doc.get("l"),
        advanced=bool(doc.get("a")),
    )
