"""The seam between tracking and notifying: which jobs an applied event calls for.

A planner sees what applying an event did (for a redelivered event, what its first
delivery did) and returns records for the notifications topic. The tracker produces
them before it commits, so none is lost; their ids are deterministic, so a redelivery
re-emits the same jobs and the notifier sends each once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from shipnotify.model.notices import plan
from shipnotify.store import Applied

JobRecord = tuple[bytes, bytes]  # (key: shipment id, value: a NotificationJob)
NoticePlanner = Callable[[Applied], Sequence[JobRecord]]


def plan_notices(applied: Applied) -> Sequence[JobRecord]:
    if not applied.advanced or applied.registered is None:
        return ()
    key = applied.event.shipment_id.encode()
    return [(key, job.SerializeToString()) for job in plan(applied.event, applied.registered)]
