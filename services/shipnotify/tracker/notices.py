"""The seam between tracking and notifying: which jobs an applied event calls for.

A planner sees what applying an event did (for a redelivered event, what its first
delivery did) and returns records for the notifications topic. The tracker produces
them before it commits, so none is lost; their ids are deterministic, so a redelivery
re-emits the same jobs and the notifier sends each once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

from shipnotify.model.notices import (
    Addressee,
    addressees,
    owed_event,
    plan_for,
    push_addressees,
)
from shipnotify.store import Applied
from shipnotify.v1 import shipment_events_pb2 as pb

JobRecord = tuple[bytes, bytes]  # (key: shipment id, value: a NotificationJob)
NoticePlanner = Callable[[Applied], Sequence[JobRecord]]


def plan_notices(applied: Applied) -> Sequence[JobRecord]:
    if not applied.parties:
        return ()
    if applied.advanced:
        event = applied.event
    elif applied.owed:
        event = owed_event(applied.event, *applied.owed)
    else:
        return ()
    everyone, tracking_id = _addressees(applied.parties)
    if applied.push:
        everyone += push_addressees(applied.push)
    key = applied.event.shipment_id.encode()
    jobs = plan_for(event, everyone, tracking_id)
    return [(key, job.SerializeToString()) for job in jobs]


@lru_cache(maxsize=4096)
def _addressees(parties: bytes) -> tuple[tuple[Addressee, ...], str]:
    """A shipment's events come close together: its registration is parsed once for them."""
    registered = pb.ShipmentRegistered.FromString(parties)
    return addressees(registered), registered.tracking_id
