from __future__ import annotations

import uuid

import pytest

from shipnotify.model.codec import (
    MalformedEvent,
    TimelineEntry,
    decode_event,
    entry_for,
    entry_from_json,
    entry_head,
    event_status,
)
from shipnotify.model.status import AttemptFailure, Status
from shipnotify.v1 import shipment_events_pb2 as pb


def status_event(**overrides: object) -> pb.ShipmentEvent:
    event = pb.ShipmentEvent(
        event_id=str(uuid.uuid4()), shipment_id="s-1", source=pb.SOURCE_COURIER_APP
    )
    event.occurred_at.FromMilliseconds(1_700_000_000_123)
    event.recorded_at.FromMilliseconds(1_700_000_005_000)
    event.status_changed.status = pb.STATUS_DELIVERY_ATTEMPTED
    event.status_changed.failure = pb.ATTEMPT_FAILURE_REFUSED
    event.status_changed.courier_id = "c-7"
    event.status_changed.location.city = "Chișinău"
    for k, v in overrides.items():
        setattr(event, k, v)
    return event


def test_event_round_trips_through_bytes() -> None:
    event = status_event()
    decoded = decode_event(event.SerializeToString())
    assert decoded == event
    assert event_status(decoded) is Status.DELIVERY_ATTEMPTED


def test_registration_decodes_as_registered() -> None:
    event = status_event()
    event.registered.tracking_id = "t" * 20
    event.registered.sender.contacts.add(name="A", email="a@example.com")
    assert event_status(decode_event(event.SerializeToString())) is Status.REGISTERED


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty record"),
        (b"\xff\xff\xff\xff", "not a ShipmentEvent"),
        (status_event(event_id="nope").SerializeToString(), "event_id is not a UUID"),
        (status_event(shipment_id="").SerializeToString(), "shipment_id"),
        (
            pb.ShipmentEvent(event_id=str(uuid.uuid4()), shipment_id="s").SerializeToString(),
            "occurred_at is missing",
        ),
    ],
)
def test_malformed_records_name_their_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(MalformedEvent, match=reason):
        decode_event(raw)


def test_unknown_or_unspecified_status_is_malformed() -> None:
    for number in (0, 99):
        event = status_event()
        event.status_changed.status = number  # type: ignore[assignment]
        with pytest.raises(MalformedEvent, match="status"):
            decode_event(event.SerializeToString())


def test_event_without_body_is_malformed() -> None:
    event = status_event()
    event.ClearField("status_changed")
    with pytest.raises(MalformedEvent, match="no body"):
        decode_event(event.SerializeToString())


def test_timeline_entry_round_trips_with_the_outcome_the_script_appends() -> None:
    entry = entry_for(status_event())
    assert entry == TimelineEntry(
        Status.DELIVERY_ATTEMPTED,
        1_700_000_000_123,
        1_700_000_005_000,
        AttemptFailure.REFUSED,
        {"city": "Chișinău"},
    )
    stored = entry_head(entry) + ',"a":1,"p":"out_for_delivery"}'
    back = entry_from_json(stored)
    assert back.advanced is True
    assert (back.status, back.failure, back.location) == (
        entry.status,
        entry.failure,
        entry.location,
    )


def test_timeline_entry_holds_no_courier_id() -> None:
    assert "c-7" not in entry_head(entry_for(status_event()))
