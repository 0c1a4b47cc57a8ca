"""Codecs: Kafka record bytes <-> ShipmentEvent, and the compact timeline entry kept in Redis."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from google.protobuf.message import DecodeError

from shipnotify.model.status import AttemptFailure, Status
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


def decode_job(raw: bytes | None) -> npb.NotificationJob:
    """A notification job, or MalformedEvent: another message that happens to parse (the
    wire format has no type tag) lacks what the planner always sets."""
    job = npb.NotificationJob()
    try:
        job.ParseFromString(raw or b"")
        uuid.UUID(job.notification_id)
    except (DecodeError, ValueError):
        raise MalformedEvent("not a NotificationJob") from None
    known = job.channel in (pb.CHANNEL_SMS, pb.CHANNEL_EMAIL)
    if not (known and job.shipment_id and job.address and job.HasField("planned_at")):
        raise MalformedEvent("not a NotificationJob")
    return job


def _check(event: pb.ShipmentEvent) -> None:
    try:
        uuid.UUID(event.event_id)
    except ValueError:
        raise MalformedEvent(f"event_id is not a UUID: {event.event_id[:64]!r}") from None
    if not 0 < len(event.shipment_id) <= MAX_ID_LENGTH:
        raise MalformedEvent("shipment_id is empty or too long")
    if not event.HasField("occurred_at"):
        raise MalformedEvent("occurred_at is missing")
    body = event.WhichOneof("body")
    if body is None:
        raise MalformedEvent("event has no body")
    if body == "status_changed":
        try:
            Status.from_proto(event.status_changed.status)
        except ValueError as e:
            raise MalformedEvent(str(e)) from None
    elif not event.registered.tracking_id:
        raise MalformedEvent("registered.tracking_id is missing")


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
    failure = location = None
    if event.WhichOneof("body") == "status_changed":
        change = event.status_changed
        failure = AttemptFailure.from_proto(change.failure)
        if change.HasField("location"):
            location = {
                k: v
                for k, v in (
                    ("depot", change.location.depot),
                    ("city", change.location.city),
                    ("country_code", change.location.country_code),
                )
                if v
            } or None
    return TimelineEntry(
        status=event_status(event),
        occurred_at_ms=event.occurred_at.ToMilliseconds(),
        recorded_at_ms=event.recorded_at.ToMilliseconds(),
        failure=failure,
        location=location,
    )


def entry_head(entry: TimelineEntry) -> str:
    """The entry as JSON without its closing brace: the Redis script appends the
    outcome it decides (`,"a":0|1,"p":"<previous status>"}`)."""
    doc: dict[str, Any] = {
        "s": entry.status.value,
        "o": entry.occurred_at_ms,
        "r": entry.recorded_at_ms,
    }
    if entry.failure:
        doc["f"] = entry.failure.value
    if entry.location:
        doc["l"] = entry.location
    return orjson.dumps(doc)[:-1].decode()


def entry_from_json(raw: str | bytes) -> TimelineEntry:
    doc = orjson.loads(raw)
    return TimelineEntry(
        status=Status(doc["s"]),
        occurred_at_ms=doc["o"],
        recorded_at_ms=doc["r"],
        failure=AttemptFailure(doc["f"]) if "f" in doc else None,
        location=doc.get("l"),
        advanced=bool(doc.get("a")),
    )
