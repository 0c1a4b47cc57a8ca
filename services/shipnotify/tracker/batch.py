"""What the tracker decides of a batch, apart from its I/O (consumer.py and feedback.py do
that): which records are events to apply and which are dead letters, which applied events
count and which Redis refused, and the jobs the counted ones call for."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, overload

from aiokafka import ConsumerRecord
from redis.exceptions import RedisError

from shipnotify import tracing
from shipnotify.consumer.dead_letters import DeadLetter
from shipnotify.model.codec import MalformedEvent, decode_event
from shipnotify.store import Applied
from shipnotify.tracker.notices import NoticePlanner
from shipnotify.v1 import shipment_events_pb2 as pb

__all__ = ["DeadLetter", "Decoded", "decoded", "jobs_for", "sorted_out", "split"]

E = TypeVar("E")
R = TypeVar("R")


@dataclass
class Decoded(Generic[E]):
    """A batch's events, each with its record and the trace context its record carries
    (its tap's), and the records that are no event."""

    events: list[E] = field(default_factory=list)
    sources: list[ConsumerRecord] = field(default_factory=list)
    traces: list[tracing.Headers] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)


@overload
def decoded(records: Sequence[ConsumerRecord]) -> Decoded[pb.ShipmentEvent]: ...
@overload
def decoded(
    records: Sequence[ConsumerRecord], decode: Callable[[bytes | None], E]
) -> Decoded[E]: ...
def decoded(
    records: Sequence[ConsumerRecord], decode: Callable[[bytes | None], Any] = decode_event
) -> Decoded[Any]:
    """The events of the records (by `decode`: the events topic's, unless told), and the
    records `decode` refuses as dead letters."""
    batch: Decoded[Any] = Decoded()
    for record in records:
        try:
            batch.events.append(decode(record.value))
        except MalformedEvent as e:
            batch.dead.append(DeadLetter(record, str(e), "malformed"))
            continue
        batch.sources.append(record)
        batch.traces.append(tracing.carried(record.headers))
    return batch


def split(
    sources: Sequence[ConsumerRecord], results: Sequence[R | RedisError]
) -> tuple[list[tuple[R, int]], list[DeadLetter]]:
    """What applying each event did, with its place among the events, and the dead letters
    of the events Redis refused every time."""
    applied: list[tuple[R, int]] = []
    dead: list[DeadLetter] = []
    for i, (record, done) in enumerate(zip(sources, results, strict=True)):
        if isinstance(done, RedisError):
            dead.append(refused(record, done))
        else:
            applied.append((done, i))
    return applied, dead


def sorted_out(
    sources: Sequence[ConsumerRecord], results: Sequence[Applied | RedisError]
) -> tuple[list[tuple[Applied, int]], list[DeadLetter]]:
    """The events applied, each with its place among the events, and the dead letters of
    those Redis refused every time or whose id is already another event's."""
    done, dead = split(sources, results)
    applied: list[tuple[Applied, int]] = []
    for a, i in done:
        if a.conflict:
            reason = f"event_id {a.event.event_id} is already another event's: not applied"
            dead.append(DeadLetter(sources[i], reason, "conflict"))
        else:
            applied.append((a, i))
    return applied, dead


def refused(record: ConsumerRecord, error: RedisError) -> DeadLetter:
    return DeadLetter(record, f"Redis fails on it every time: {error}", "refused")


def jobs_for(
    applied: Sequence[tuple[Applied, int]], traces: Sequence[tracing.Headers], plan: NoticePlanner
) -> list[tracing.Record]:
    """The notification jobs of the applied events, each in its event's trace."""
    return [job for a, i in applied for job in tracing.in_trace(plan(a), traces[i])]
