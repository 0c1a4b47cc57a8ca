"""Shipment statuses and the one rule of progress.

Progress only moves forward; `delivered`, `returned_to_sender` and `cancelled` are
terminal. The one way back is a re-delivery loop after a failed attempt (out for
delivery again, or back in transit), and only when it happened after the attempt;
between an attempt and the status it loops back to, whichever happened later wins, in
either order of arrival. An event that does not advance is still kept in the timeline.

The Redis script applies the same rule from `script_args()`, so this module is its
single source of truth.
"""

from __future__ import annotations

from enum import StrEnum
from typing import cast

from shipnotify.v1 import shipment_events_pb2 as pb


class Status(StrEnum):
    REGISTERED = "registered"
    CONFIRMED = "confirmed"
    AWAITING_PICKUP = "awaiting_pickup"
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERY_ATTEMPTED = "delivery_attempted"
    READY_FOR_COLLECTION = "ready_for_collection"
    DELIVERED = "delivered"
    RETURNED_TO_SENDER = "returned_to_sender"
    CANCELLED = "cancelled"

    @property
    def proto(self) -> pb.Status:
        return _PROTO_BY_STATUS[self]

    @classmethod
    def from_proto(cls, value: int) -> Status:
        """Raises ValueError for STATUS_UNSPECIFIED or a number this build does not know."""
        try:
            return _STATUS_BY_PROTO[value]
        except KeyError:
            if value == pb.STATUS_UNSPECIFIED:
                raise ValueError("status is unspecified") from None
            raise ValueError(f"unknown status number {value}") from None


class AttemptFailure(StrEnum):
    RECIPIENT_ABSENT = "recipient_absent"
    ADDRESS_INCORRECT = "address_incorrect"
    REFUSED = "refused"
    NO_ACCESS = "no_access"
    BUSINESS_CLOSED = "business_closed"
    OTHER = "other"

    @property
    def proto(self) -> pb.AttemptFailure:
        return cast(pb.AttemptFailure, pb.AttemptFailure.Value("ATTEMPT_FAILURE_" + self.name))

    @classmethod
    def from_proto(cls, value: int) -> AttemptFailure | None:
        """None for ATTEMPT_FAILURE_UNSPECIFIED; ValueError for a number this build does not
        know."""
        try:
            return _FAILURE_BY_PROTO[value]
        except KeyError:
            raise ValueError(f"unknown attempt failure number {value}") from None


# Both ways, once: the tracker looks them up per event, and pb's Name() and Value() are slow.
_PROTO_BY_STATUS = {s: cast(pb.Status, pb.Status.Value("STATUS_" + s.name)) for s in Status}
_STATUS_BY_PROTO: dict[int, Status] = {number: s for s, number in _PROTO_BY_STATUS.items()}
_FAILURE_BY_PROTO: dict[int, AttemptFailure | None] = {
    pb.ATTEMPT_FAILURE_UNSPECIFIED: None,
    **{f.proto: f for f in AttemptFailure},
}


# The order of progress. Terminal statuses share the top rank: none leads to another.
RANK: dict[Status, int] = {
    Status.REGISTERED: 0,
    Status.CONFIRMED: 1,
    Status.AWAITING_PICKUP: 2,
    Status.PICKED_UP: 3,
    Status.IN_TRANSIT: 4,
    Status.OUT_FOR_DELIVERY: 5,
    Status.DELIVERY_ATTEMPTED: 6,
    Status.READY_FOR_COLLECTION: 7,
    Status.DELIVERED: 8,
    Status.RETURNED_TO_SENDER: 8,
    Status.CANCELLED: 8,
}
TERMINAL = frozenset({Status.DELIVERED, Status.RETURNED_TO_SENDER, Status.CANCELLED})

# Moves to a lower rank allowed when they happened later: new status -> from which.
REDELIVERY_LOOPS: dict[Status, frozenset[Status]] = {
    Status.OUT_FOR_DELIVERY: frozenset({Status.DELIVERY_ATTEMPTED}),
    Status.IN_TRANSIT: frozenset({Status.DELIVERY_ATTEMPTED}),
}


def _looped(a: Status, b: Status) -> bool:
    """Whether one of the two can follow the other again in a re-delivery loop."""
    return a in REDELIVERY_LOOPS.get(b, ()) or b in REDELIVERY_LOOPS.get(a, ())


def advances(current: Status | None, current_at_ms: int, new: Status, new_at_ms: int) -> bool:
    """Whether an event with status `new` becomes the shipment's current status."""
    if current is None:
        return True
    if current in TERMINAL:
        return False
    if _looped(current, new):
        # Either may come first: the later wins, so a failed attempt uploaded late never
        # undoes the re-delivery that followed it.
        return new_at_ms > current_at_ms
    return RANK[new] > RANK[current]


def _csv(statuses: frozenset[Status] | set[Status]) -> str:
    return "," + ",".join(sorted(statuses)) + ","


def script_args(new: Status) -> tuple[str, str]:
    """The rule for `new` as two lists the Redis script matches the current status against.

    The first: statuses `new` always advances from. The second: statuses it advances
    from only when it happened later.
    """
    return _ALWAYS_FROM[new], _LATER_FROM[new]


_ALWAYS_FROM = {
    new: _csv(
        {s for s in Status if s not in TERMINAL and RANK[new] > RANK[s] and not _looped(s, new)}
    )
    for new in Status
}
_LATER_FROM = {new: _csv({s for s in Status if _looped(s, new)}) for new in Status}


# What a courier taps in the app; confirming and cancelling are the order system's.
COURIER_TAPS = (
    Status.PICKED_UP,
    Status.IN_TRANSIT,
    Status.OUT_FOR_DELIVERY,
    Status.DELIVERY_ATTEMPTED,
    Status.READY_FOR_COLLECTION,
    Status.DELIVERED,
    Status.RETURNED_TO_SENDER,
)


def next_taps(current: Status | None) -> list[Status]:
    """The taps that would move a shipment on from `current` (a tap is later than it)."""
    return [s for s in COURIER_TAPS if advances(current, 0, s, 1)]


class Shipment:
    """The rule applied to a stream of events, in memory: what the Redis script does.

    It serves the unit tests and, later, rebuilding state from the events topic.
    """

    def __init__(self) -> None:
        self.status: Status | None = None
        self.status_at_ms = 0
        self.seen: dict[str, bool] = {}  # event id -> whether it advanced

    def apply(self, event_id: str, status: Status, occurred_at_ms: int) -> bool | None:
        """Whether the event advanced the shipment; None for an event id seen before."""
        if event_id in self.seen:
            return None
        moved = advances(self.status, self.status_at_ms, status, occurred_at_ms)
        if moved:
            self.status, self.status_at_ms = status, occurred_at_ms
        self.seen[event_id] = moved
        return moved
