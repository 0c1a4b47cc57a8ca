"""The benchmark's shipments: each registered, then walked to delivered by couriers, with as
many hub scans (`in_transit`) on the way as the event count asks for. The recipient hears by
SMS, the sender by email: six notices a shipment."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from shipnotify.model.ids import tracking_id_for
from shipnotify.model.notices import DEFAULT_MATRIX, notification_id
from shipnotify.model.status import Status
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb

MIN_EVENTS = 6  # registered, confirmed, picked_up, in_transit, out_for_delivery, delivered
# The recipient hears by SMS, the sender by email
SMS_STATUSES = DEFAULT_MATRIX[npb.PARTY_ROLE_RECIPIENT]


@dataclass(frozen=True)
class Parcel:
    shipment_id: str
    phone: str
    email: str
    locale: str
    walk: tuple[Status, ...]  # registered first
    event_ids: tuple[str, ...]  # one per step of the walk

    @property
    def notices(self) -> int:
        """How many notices the walk calls for, by the default matrix."""
        return sum(self.notices_at(step) for step in range(len(self.walk)))

    def notices_at(self, step: int) -> int:
        """How many notices step `step` of the walk calls for: the sender's email, the
        recipient's SMS, by the default matrix."""
        status = self.walk[step]
        return int(status in DEFAULT_MATRIX[npb.PARTY_ROLE_SENDER]) + int(status in SMS_STATUSES)

    def sms_notice(self, step: int) -> str | None:
        """The id of the SMS that step `step` of the walk calls for, if any."""
        if self.walk[step] not in SMS_STATUSES:
            return None
        return notification_id(
            self.event_ids[step], npb.PARTY_ROLE_RECIPIENT, self.phone, pb.CHANNEL_SMS
        )


def walk(events: int) -> tuple[Status, ...]:
    scans = max(1, events - MIN_EVENTS + 1)
    return (
        Status.REGISTERED,
        Status.CONFIRMED,
        Status.PICKED_UP,
        *[Status.IN_TRANSIT] * scans,
        Status.OUT_FOR_DELIVERY,
        Status.DELIVERED,
    )


def parcels(run: str, count: int, events_each: int, first: int = 0) -> list[Parcel]:
    steps = walk(events_each)
    return [
        Parcel(
            shipment_id=f"bench-{run}-{n:07d}",
            phone=f"+4072{n % 10_000_000:07d}",
            email=f"party-{n}@example.com",
            locale=("en", "ru", "ro")[n % 3],
            walk=steps,
            event_ids=tuple(str(uuid.uuid4()) for _ in steps),
        )
        for n in range(first, first + count)
    ]


def events(parcel: Parcel, tracking_id_secret: str) -> Iterator[pb.ShipmentEvent]:
    """The parcel's events as ingest writes them to Kafka, a few minutes apart."""
    at = datetime.now(UTC) - timedelta(hours=2)
    first = _envelope(parcel, 0, at, pb.SOURCE_ORDER_SYSTEM)
    first.registered.tracking_id = tracking_id_for(tracking_id_secret, parcel.shipment_id)
    first.registered.sender.contacts.append(
        pb.Contact(
            name="Sender", email=parcel.email, locale=parcel.locale, channels=[pb.CHANNEL_EMAIL]
        )
    )
    first.registered.recipient.contacts.append(
        pb.Contact(
            name="Recipient",
            phone=parcel.phone,
            locale=parcel.locale,
            time_zone="Europe/Chisinau",
            channels=[pb.CHANNEL_SMS],
        )
    )
    yield first
    for step, status in enumerate(parcel.walk[1:], 1):
        at += timedelta(minutes=7)
        event = _envelope(parcel, step, at, pb.SOURCE_COURIER_APP)
        event.status_changed.status = status.proto
        event.status_changed.courier_id = "bench-courier"
        event.status_changed.location.CopyFrom(_place(step))
        yield event


def requests(parcel: Parcel) -> Iterator[tuple[str, dict[str, Any]]]:
    """The parcel's HTTP requests to ingest: the registration, then the courier's taps."""
    yield (
        "/v1/shipments",
        {
            "shipment_id": parcel.shipment_id,
            "event_id": parcel.event_ids[0],
            "sender": {"contacts": [{"name": "Sender", "email": parcel.email}]},
            "recipient": {
                "contacts": [
                    {
                        "name": "Recipient",
                        "phone": parcel.phone,
                        "locale": parcel.locale,
                        "channels": ["sms"],
                    }
                ]
            },
        },
    )
    for step, status in enumerate(parcel.walk[1:], 1):
        yield (
            f"/v1/shipments/{parcel.shipment_id}/events",
            {
                "event_id": parcel.event_ids[step],
                "occurred_at": datetime.now(UTC).isoformat(),
                "status": status.value,
                "location": {"depot": f"HUB-{step}", "city": "Chisinau", "country_code": "MD"},
            },
        )


def _envelope(parcel: Parcel, step: int, at: datetime, source: pb.Source) -> pb.ShipmentEvent:
    event = pb.ShipmentEvent(
        event_id=parcel.event_ids[step], shipment_id=parcel.shipment_id, source=source
    )
    event.occurred_at.CopyFrom(_ts(at))
    event.recorded_at.CopyFrom(_ts(at + timedelta(seconds=1)))
    return event


def _ts(when: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(when)
    return ts


def _place(step: int) -> pb.Location:
    return pb.Location(depot=f"HUB-{step}", city="Chisinau", country_code="MD")
