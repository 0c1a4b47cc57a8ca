from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipnotify.bench import shipments
from shipnotify.model.codec import (
    STATUS_CODES,
    MalformedEvent,
    TimelineEntry,
    decode_event,
    entry_for,
    entry_from_stored,
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
    ids=lambda v: v if isinstance(v, str) else "",  # named by the reason: the same in every worker
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


def test_an_unknown_attempt_failure_is_malformed() -> None:
    """A newer app's failure reason this build cannot store goes to the dead letters, rather
    than stopping the tracker's batch."""
    event = status_event()
    event.status_changed.failure = 99  # type: ignore[assignment]
    with pytest.raises(MalformedEvent, match="unknown attempt failure number 99"):
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
    # the layout is what Redis holds for months: a change must still read these
    assert entry_head(entry) == "7|loyw3v5n|3rh|3||Chișinău"
    stored = entry_head(entry) + "|16"  # as the script appends: advanced, from out_for_delivery
    assert entry_from_stored(stored) == replace(entry, advanced=True)
    assert entry_from_stored(stored.encode()) == replace(entry, advanced=True)


def test_a_registration_entry_leaves_its_empty_fields_out() -> None:
    event = status_event()
    event.registered.tracking_id = "t" * 20
    entry = entry_for(event)
    assert entry_head(entry) == "1|loyw3v5n|3rh"
    assert entry_from_stored(entry_head(entry) + "|1") == replace(entry, advanced=True)


def test_status_codes_are_one_distinct_character() -> None:
    """apply_events.lua reads an entry's previous status back as one character."""
    assert all(len(code) == 1 and code.isalnum() for code in STATUS_CODES.values())
    assert len(set(STATUS_CODES.values())) == len(Status)


def test_the_benchmark_entries_fit_a_listpack_value() -> None:
    parcel = shipments.parcels("r", 1, shipments.MIN_EVENTS)[0]
    for event in shipments.events(parcel, "s" * 32):
        assert len((entry_head(entry_for(event)) + "|1a").encode()) <= 64


places = st.none() | st.fixed_dictionaries(
    {}, optional={k: st.text(min_size=1) for k in ("depot", "city", "country_code")}
).map(lambda d: d or None)


@given(
    st.sampled_from(list(Status)),
    st.integers(-(2**50), 2**50),
    st.integers(-(2**50), 2**50),
    st.none() | st.sampled_from(list(AttemptFailure)),
    places,
    st.booleans(),
    st.sampled_from([*STATUS_CODES.values(), ""]),
)
def test_any_entry_round_trips(
    status: Status,
    occurred: int,
    recorded: int,
    failure: AttemptFailure | None,
    location: dict[str, str] | None,
    advanced: bool,
    previous: str,
) -> None:
    """Whatever a location holds ('|', '%', escapes, any script), nothing is lost."""
    entry = TimelineEntry(status, occurred, recorded, failure, location, advanced)
    stored = entry_head(entry) + f"|{int(advanced)}{previous}"
    assert entry_from_stored(stored) == entry


def test_a_location_cannot_forge_a_separator() -> None:
    entry = TimelineEntry(Status.IN_TRANSIT, 5, 0, location={"depot": "a|b%7C%", "city": "|"})
    head = entry_head(entry)
    assert head == "5|5|-5||a%7Cb%257C%25|%7C"
    assert entry_from_stored(head + "|05") == entry


def test_entries_stored_as_json_before_are_still_read() -> None:
    old = (
        '{"s":"delivery_attempted","o":1700000000123,"r":1700000005000,"f":"refused",'
        '"l":{"city":"Chișinău"},"a":1,"p":"out_for_delivery"}'
    )
    assert entry_from_stored(old) == replace(entry_for(status_event()), advanced=True)
    registered = '{"s":"registered","o":1,"r":2,"a":0,"p":""}'
    assert entry_from_stored(registered.encode()) == TimelineEntry(Status.REGISTERED, 1, 2)


def test_timeline_entry_holds_no_courier_id() -> None:
    assert "c-7" not in entry_head(entry_for(status_event()))
