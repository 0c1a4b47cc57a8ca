"""What the tracker makes of a batch (tracker/batch.py), without Kafka or Redis: events and
dead letters, then what Redis answered, then the jobs, each in its tap's trace."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from aiokafka import ConsumerRecord
from redis.exceptions import ResponseError

from shipnotify.model.status import Status
from shipnotify.store import Applied
from shipnotify.tracker.batch import DeadLetter, decoded, jobs_for, sorted_out
from shipnotify.tracker.notices import JobRecord
from shipnotify.v1 import shipment_events_pb2 as pb

TRACEPARENT = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def event(shipment_id: str = "s-1") -> pb.ShipmentEvent:
    e = pb.ShipmentEvent(event_id=str(uuid.uuid4()), shipment_id=shipment_id)
    e.occurred_at.FromMilliseconds(1_700_000_000_000)
    e.status_changed.status = pb.STATUS_PICKED_UP
    return e


def record(
    value: bytes | None, offset: int, headers: Sequence[tuple[str, bytes]] = ()
) -> ConsumerRecord:
    return ConsumerRecord(
        "events", 0, offset, 0, 0, b"s-1", value, None, 3, len(value or b""), list(headers)
    )


def applied(e: pb.ShipmentEvent, *, conflict: bool = False) -> Applied:
    return Applied(
        e, duplicate=False, advanced=True, previous=Status.REGISTERED, version=2, conflict=conflict
    )


def test_records_that_are_no_event_are_dead_letters_and_the_rest_keep_their_trace() -> None:
    good = event()
    traced = [("traceparent", TRACEPARENT), ("other", b"x")]
    records = [record(b"", 0), record(good.SerializeToString(), 1, traced), record(b"\xff\x01", 2)]
    batch = decoded(records)
    assert batch.events == [good]
    assert batch.sources == [records[1]]
    assert batch.traces == [[("traceparent", TRACEPARENT)]]
    assert [(d.record.offset, d.reason, d.why) for d in batch.dead] == [
        (0, "empty record", "malformed"),
        (2, batch.dead[1].reason, "malformed"),
    ]
    assert batch.dead[1].reason.startswith("not a ShipmentEvent")


def test_what_redis_refused_or_found_in_conflict_is_set_apart_in_order() -> None:
    events = [event() for _ in range(4)]
    sources = [record(e.SerializeToString(), i) for i, e in enumerate(events)]
    results: list[Applied | ResponseError] = [
        applied(events[0]),
        ResponseError("WRONGTYPE"),
        applied(events[2], conflict=True),
        applied(events[3]),
    ]
    done, dead = sorted_out(sources, results)
    assert done == [(results[0], 0), (results[3], 3)]
    assert dead == [
        DeadLetter(sources[1], "Redis fails on it every time: WRONGTYPE", "refused"),
        DeadLetter(
            sources[2],
            f"event_id {events[2].event_id} is already another event's: not applied",
            "conflict",
        ),
    ]


def test_each_applied_events_jobs_are_in_its_own_trace() -> None:
    first, second = event("s-1"), event("s-2")
    planned: list[Applied] = []

    def plan(a: Applied) -> Sequence[JobRecord]:
        planned.append(a)
        return [(a.event.shipment_id.encode(), b"")]

    traces = [[("traceparent", TRACEPARENT)], [], []]
    jobs = jobs_for([(applied(first), 0), (applied(second), 2)], traces, plan)
    assert [a.event for a in planned] == [first, second]
    assert [(key, list(headers)) for key, _, headers in jobs] == [
        (b"s-1", [("traceparent", TRACEPARENT)]),
        (b"s-2", []),
    ]
