from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from shipnotify.model.notices import (
    DEFAULT_MATRIX,
    addressees,
    notification_id,
    plan,
    plan_for,
    push_addressees,
)
from shipnotify.model.status import Status, next_taps
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb

SMS, EMAIL = pb.CHANNEL_SMS, pb.CHANNEL_EMAIL
SENDER, RECIPIENT = npb.PARTY_ROLE_SENDER, npb.PARTY_ROLE_RECIPIENT


def registration() -> pb.ShipmentRegistered:
    reg = pb.ShipmentRegistered(tracking_id="t" * 20)
    reg.sender.contacts.add(name="Desk", email="desk@shop.example", channels=[EMAIL])
    reg.sender.contacts.add(
        name="Owner",
        phone="+40721234567",
        email="o@shop.example",
        channels=[SMS, EMAIL],
        locale="ro",
    )
    reg.recipient.contacts.add(name="Ion", phone="+37369123456", channels=[SMS])
    return reg


def status_event(status: Status, event_id: str | None = None) -> pb.ShipmentEvent:
    event = pb.ShipmentEvent(event_id=event_id or str(uuid.uuid4()), shipment_id="s-1")
    event.occurred_at.FromMilliseconds(1_000)
    event.recorded_at.FromMilliseconds(2_000)
    event.status_changed.status = status.proto
    return event


def routes(jobs: list[npb.NotificationJob]) -> set[tuple[int, str, int]]:
    return {(j.party, j.address, j.channel) for j in jobs}


def test_default_matrix() -> None:
    assert DEFAULT_MATRIX[SENDER] == {
        Status.CONFIRMED,
        Status.PICKED_UP,
        Status.DELIVERY_ATTEMPTED,
        Status.DELIVERED,
        Status.RETURNED_TO_SENDER,
    }
    assert DEFAULT_MATRIX[RECIPIENT] == {
        Status.PICKED_UP,
        Status.OUT_FOR_DELIVERY,
        Status.DELIVERY_ATTEMPTED,
        Status.READY_FOR_COLLECTION,
        Status.DELIVERED,
    }


def test_picked_up_reaches_every_contact_of_both_parties_on_their_channels() -> None:
    jobs = plan(status_event(Status.PICKED_UP), registration())
    assert routes(jobs) == {
        (SENDER, "desk@shop.example", EMAIL),
        (SENDER, "+40721234567", SMS),
        (SENDER, "o@shop.example", EMAIL),
        (RECIPIENT, "+37369123456", SMS),
    }
    assert all(j.tracking_id == "t" * 20 and j.status == pb.STATUS_PICKED_UP for j in jobs)


def test_a_status_for_one_party_only() -> None:
    assert {j.party for j in plan(status_event(Status.OUT_FOR_DELIVERY), registration())} == {
        RECIPIENT
    }
    assert {j.party for j in plan(status_event(Status.CONFIRMED), registration())} == {SENDER}
    assert plan(status_event(Status.IN_TRANSIT), registration()) == []


def test_a_contacts_own_statuses_replace_the_default() -> None:
    reg = registration()
    reg.recipient.contacts[0].statuses.extend([pb.STATUS_IN_TRANSIT])
    assert routes(plan(status_event(Status.IN_TRANSIT), reg)) == {(RECIPIENT, "+37369123456", SMS)}
    assert plan(status_event(Status.OUT_FOR_DELIVERY), reg) == []  # opted out of it


def test_ids_are_deterministic_and_jobs_identical_on_redelivery() -> None:
    event = status_event(Status.DELIVERED, "8d9e3c56-0000-4000-8000-000000000001")
    first = [j.SerializeToString() for j in plan(event, registration())]
    again = [j.SerializeToString() for j in plan(event, registration())]
    assert first == again
    ids = [j.notification_id for j in plan(event, registration())]
    assert len(set(ids)) == len(ids)
    assert ids[0] == notification_id(event.event_id, SENDER, "desk@shop.example", EMAIL)


def test_registration_events_notify_no_one() -> None:
    event = status_event(Status.CONFIRMED)
    event.registered.CopyFrom(registration())
    assert plan(event, registration()) == []


@given(st.uuids(), st.integers(0, 3), st.text(max_size=80), st.integers(0, 3))
def test_the_notification_id_is_uuid5_of_its_parts(
    event_id: uuid.UUID, party: int, address: str, channel: int
) -> None:
    # spelt out for speed; it must stay the uuid5 that ids already stored were made with
    name = f"{event_id}|{party}|{address}|{channel}"
    expected = str(uuid.uuid5(uuid.UUID("6f1d3c1e-4b9a-5e43-9d2e-5b0c7a1f8e21"), name))
    assert notification_id(str(event_id), party, address, channel) == expected


def test_each_subscribed_browser_gets_a_push_of_every_move_with_its_keys() -> None:
    subs = [
        pb.PushSubscribed(endpoint="https://push.example/a", p256dh="P1", auth="A1", locale="ru"),
        pb.PushSubscribed(endpoint="https://push.example/b", p256dh="P2", auth="A2"),
    ]
    everyone = addressees(registration()) + push_addressees(subs)
    for status in (Status.IN_TRANSIT, Status.DELIVERED):  # the first, no contact hears it
        event = status_event(status)
        event.status_changed.received_by = "Maria"
        pushes = [j for j in plan_for(event, everyone, "t" * 20) if j.channel == pb.CHANNEL_PUSH]
        assert [(j.address, j.push_p256dh, j.push_auth, j.locale) for j in pushes] == [
            ("https://push.example/a", "P1", "A1", "ru"),
            ("https://push.example/b", "P2", "A2", ""),
        ]
        assert {j.party for j in pushes} == {RECIPIENT}
        assert {j.received_by for j in pushes} == {"Maria"}
        # one id per browser, stable: a redelivered event plans the same ones
        again = plan_for(event, everyone, "t" * 20)
        assert [j.notification_id for j in again if j.channel == pb.CHANNEL_PUSH] == [
            j.notification_id for j in pushes
        ]


def test_a_courier_taps_only_what_moves_a_shipment_on() -> None:
    assert next_taps(Status.OUT_FOR_DELIVERY) == [
        Status.DELIVERY_ATTEMPTED,
        Status.READY_FOR_COLLECTION,
        Status.DELIVERED,
        Status.RETURNED_TO_SENDER,
    ]
    # the re-delivery loop: after a failed attempt, out for delivery again
    assert Status.OUT_FOR_DELIVERY in next_taps(Status.DELIVERY_ATTEMPTED)
    assert next_taps(Status.DELIVERED) == []
    assert Status.CONFIRMED not in next_taps(None)  # the order system's, not a courier's
