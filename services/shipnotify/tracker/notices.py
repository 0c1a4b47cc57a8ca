"""The seam between tracking and notifying: which jobs an applied event calls for.

A planner sees what applying an event did (including, for a redelivered event,
what its first delivery did) and returns records for the notifications topic.
The tracker produces them before it commits, so none is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from shipnotify.store import Applied

JobRecord = tuple[bytes, bytes]  # (key: shipment id, value: the job)
NoticePlanner = Callable[[Applied], Sequence[JobRecord]]


def no_notices(applied: Applied) -> Sequence[JobRecord]:
    """Tracking without notifications."""
    return ()
