"""Properties of the progress rule and the planner over a shipment's whole event stream.

A shipment's events reach the tracker in any order (courier apps upload offline taps late)
and some of them more than once (a batch redelivered after a crash). `deliver` does in
memory what the tracker and its Redis script do with one arrival order:

* `Shipment.apply` decides whether an event advances (the script runs the same rule, see
  test_status.test_script_args_encode_the_same_rule);
* the registration's contacts are known from the moment the registration has arrived;
* an event that advanced while contacts are known gets the jobs `plan()` gives for it;
* a redelivered event reports what its first delivery did, so an event that advanced
  re-emits its jobs (byte-identical, so the notifier sends them once).

"Sorted" below means ordered by occurred_at. It is a well-defined order only without ties,
and the rule only promises order independence where the tests below say so; the exact
statements are in each test's docstring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from shipnotify.model.codec import event_status
from shipnotify.model.notices import plan
from shipnotify.model.status import RANK, TERMINAL, Shipment, Status
from shipnotify.v1 import shipment_events_pb2 as pb

S = Status
SMS, EMAIL = pb.CHANNEL_SMS, pb.CHANNEL_EMAIL
TAPS = [s for s in Status if s is not S.REGISTERED]  # ingest refuses "registered" as a tap
# Statuses whose order is decided by rank alone: no redelivery loop starts from any of them.
PLAIN = [s for s in TAPS if s not in TERMINAL and s is not S.DELIVERY_ATTEMPTED]
FAST = settings(max_examples=300)


def contacts() -> pb.ShipmentRegistered:
    reg = pb.ShipmentRegistered(tracking_id="t" * 20)
    reg.sender.contacts.add(
        name="Shop", phone="+40721234567", email="desk@shop.example", channels=[SMS, EMAIL]
    )
    reg.recipient.contacts.add(
        name="Ion", phone="+37369123456", email="ion@example.com", channels=[SMS, EMAIL]
    )
    return reg


def _event(number: int, at_ms: int) -> pb.ShipmentEvent:
    event = pb.ShipmentEvent(
        event_id=f"00000000-0000-4000-8000-{number:012d}", shipment_id="s-prop"
    )
    event.occurred_at.FromMilliseconds(at_ms)
    event.recorded_at.FromMilliseconds(at_ms + 500)  # the same for every copy of a record
    return event


def registration(at_ms: int) -> pb.ShipmentEvent:
    event = _event(0, at_ms)
    event.registered.CopyFrom(contacts())
    return event


def tap(number: int, status: Status, at_ms: int) -> pb.ShipmentEvent:
    event = _event(number, at_ms)
    event.status_changed.status = status.proto
    if status is S.DELIVERY_ATTEMPTED:
        event.status_changed.failure = pb.ATTEMPT_FAILURE_RECIPIENT_ABSENT
    return event


@dataclass(frozen=True)
class Outcome:
    status: Status | None
    status_at_ms: int
    advanced: dict[str, bool]  # every event id the timeline keeps -> whether it advanced
    notices: frozenset[bytes]  # every job emitted, serialised


def deliver(arrivals: Sequence[pb.ShipmentEvent]) -> Outcome:
    """What the tracker makes of events arriving in this order (see the module docstring)."""
    shipment = Shipment()
    parties: pb.ShipmentRegistered | None = None
    notices: set[bytes] = set()
    for event in arrivals:
        moved = shipment.apply(
            event.event_id, event_status(event), event.occurred_at.ToMilliseconds()
        )
        if moved is not None and event.WhichOneof("body") == "registered":
            parties = event.registered
        advanced = shipment.seen[event.event_id] if moved is None else moved
        if advanced and parties is not None:
            notices.update(job.SerializeToString() for job in plan(event, parties))
    return Outcome(shipment.status, shipment.status_at_ms, dict(shipment.seen), frozenset(notices))


def jobs_of(event: pb.ShipmentEvent) -> frozenset[bytes]:
    return frozenset(job.SerializeToString() for job in plan(event, contacts()))


def first_deliveries(arrivals: Sequence[pb.ShipmentEvent]) -> list[pb.ShipmentEvent]:
    return list({e.event_id: e for e in arrivals}.values())  # a key keeps its first place


def by_time(events: Sequence[pb.ShipmentEvent]) -> list[pb.ShipmentEvent]:
    return sorted(events, key=lambda e: e.occurred_at.ToMilliseconds())


def at(event: pb.ShipmentEvent) -> int:
    return int(event.occurred_at.ToMilliseconds())


times = st.integers(min_value=0, max_value=30)  # a narrow range: equal times happen


@st.composite
def any_events(draw: st.DrawFn) -> list[pb.ShipmentEvent]:
    """A registration and up to 8 taps of random statuses at random times."""
    taps = draw(st.lists(st.tuples(st.sampled_from(TAPS), times), max_size=8))
    return [registration(draw(times))] + [
        tap(i, status, when) for i, (status, when) in enumerate(taps, 1)
    ]


@st.composite
def deliveries(
    draw: st.DrawFn, events: Sequence[pb.ShipmentEvent], registration_first: bool
) -> list[pb.ShipmentEvent]:
    """`events` (the registration first among them) in any order, with up to 6 of them
    delivered again at any place; the registration first if asked."""
    arrived = draw(st.permutations(events))
    if registration_first:
        arrived = [events[0], *(e for e in arrived if e is not events[0])]
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        lowest = 1 if registration_first else 0
        place = draw(st.integers(min_value=lowest, max_value=len(arrived)))
        arrived.insert(place, draw(st.sampled_from(events)))
    return arrived


@FAST
@given(data=st.data(), events=any_events(), registration_first=st.booleans())
def test_redelivered_events_change_neither_state_nor_notices(
    data: st.DataObject, events: list[pb.ShipmentEvent], registration_first: bool
) -> None:
    """Any stream with copies of its events anywhere (same event ids) ends in the same
    state (status, its time, every event's outcome) as the stream of first deliveries alone,
    whatever the statuses and times; in particular events that first arrive in occurred_at
    order end as the sorted, unique events do. The set of notices is the same too when the
    registration arrives before every tap (what the order system does): a tap that advanced
    before the contacts were known sent nothing, while its redelivery after the registration
    sends its jobs then, possibly after later statuses' notices."""
    arrived = data.draw(deliveries(events, registration_first))
    once = first_deliveries(arrived)
    got, want = deliver(arrived), deliver(once)
    assert (got.status, got.status_at_ms, got.advanced) == (
        want.status,
        want.status_at_ms,
        want.advanced,
    )
    assert got.advanced.keys() == {e.event_id for e in events}  # the timeline keeps each once
    if registration_first:
        assert got.notices == want.notices


@st.composite
def rank_ordered(draw: st.DrawFn, in_time: bool) -> list[pb.ShipmentEvent]:
    """Taps of distinct statuses, no delivery_attempted (so no redelivery loop), at most
    one terminal status; the registration first. With `in_time`, times increase with the
    order of progress (a true history); otherwise any times (clocks that disagree)."""
    statuses: list[Status] = sorted(
        draw(st.sets(st.sampled_from(PLAIN), max_size=6)), key=RANK.__getitem__
    )
    end = draw(st.none() | st.sampled_from(sorted(TERMINAL)))
    statuses += [end] if end is not None else []
    if in_time:
        moments = sorted(
            draw(st.sets(times, min_size=len(statuses) + 1, max_size=len(statuses) + 1))
        )
    else:
        moments = [draw(times) for _ in range(len(statuses) + 1)]
    return [registration(moments[0])] + [
        tap(i, status, when)
        for i, (status, when) in enumerate(zip(statuses, moments[1:], strict=True), 1)
    ]


@FAST
@given(data=st.data(), in_time=st.booleans(), registration_first=st.booleans())
def test_without_a_redelivery_loop_any_arrival_order_ends_in_the_top_status(
    data: st.DataObject, in_time: bool, registration_first: bool
) -> None:
    """For taps of distinct statuses with no delivery_attempted and at most one terminal
    status, at any times: every arrival order, with any redeliveries and the registration
    anywhere, ends in the same status at the same time as the sorted events do, namely the
    highest-ranked tap's, and keeps every event. Its notices are sent whenever the
    registration arrived before it.

    The set of notices is not order independent, by design: a lower status arriving after a
    higher one is kept in the timeline but advances nothing and notifies no one (no "picked
    up" SMS after "delivered"). For a true history (times rising with progress) the sorted
    order notifies every tap, and any other order notifies a subset of that."""
    events = data.draw(rank_ordered(in_time))
    arrived = data.draw(deliveries(events, registration_first))
    top = events[-1]  # highest ranked; the registration when there is no tap
    got, in_order = deliver(arrived), deliver(by_time(events))
    assert (got.status, got.status_at_ms) == (in_order.status, in_order.status_at_ms)
    assert (got.status, got.status_at_ms) == (event_status(top), at(top))
    assert got.advanced.keys() == {e.event_id for e in events}
    once = [e.event_id for e in first_deliveries(arrived)]
    if once.index(events[0].event_id) <= once.index(top.event_id):
        assert jobs_of(top) <= got.notices
    if in_time:
        assert all(in_order.advanced.values())
        assert in_order.notices == frozenset().union(*(jobs_of(e) for e in events))
        assert got.notices <= in_order.notices


# A true history with redelivery loops: a walk on the rule's own transitions, written out
# here independently of it: forward to any higher rank from a non-terminal status, or back
# to out_for_delivery or in_transit right after a failed attempt.
def next_statuses(current: Status) -> list[Status]:
    if current in TERMINAL:
        return []
    forward = [s for s in TAPS if RANK[s] > RANK[current]]
    back = [S.OUT_FOR_DELIVERY, S.IN_TRANSIT] if current is S.DELIVERY_ATTEMPTED else []
    return forward + back


@st.composite
def true_histories(draw: st.DrawFn) -> list[pb.ShipmentEvent]:
    when = draw(times)
    events, current = [registration(when)], S.REGISTERED
    for i in range(1, draw(st.integers(min_value=0, max_value=10)) + 1):
        choices = next_statuses(current)
        if not choices:
            break
        # bias towards the loop, which a uniform pick would rarely take twice
        loop = current is S.DELIVERY_ATTEMPTED and draw(st.booleans())
        current = draw(st.sampled_from(choices[-2:] if loop else choices))
        when += draw(st.integers(min_value=1, max_value=5))
        events.append(tap(i, current, when))
    return events


@FAST
@given(data=st.data(), history=true_histories())
def test_a_true_history_delivered_in_time_order_advances_at_every_step(
    data: st.DataObject, history: list[pb.ShipmentEvent]
) -> None:
    """A true history (each step a forward move or a redelivery loop, at strictly rising
    times, redelivery loops included) delivered in occurred_at order, each event possibly
    more than once right after itself or later: every event advances, the shipment ends
    in the history's last status at its time, and every tap is notified."""
    arrived = list(history)
    for _ in range(data.draw(st.integers(min_value=0, max_value=6))):
        copy = data.draw(st.sampled_from(history))
        after = [e.event_id for e in arrived].index(copy.event_id) + 1
        arrived.insert(data.draw(st.integers(min_value=after, max_value=len(arrived))), copy)
    got = deliver(arrived)
    assert all(got.advanced.values()), got.advanced
    assert (got.status, got.status_at_ms) == (event_status(history[-1]), at(history[-1]))
    assert got.notices == frozenset().union(*(jobs_of(e) for e in history))
    assert got == deliver(by_time(history))


def test_a_late_attempt_does_not_undo_the_redelivery_that_followed_it() -> None:
    """The attempt failed at 18:00 on day 1 (the courier's app was offline); the parcel went
    out again at 08:00 on day 2 and that tap arrived first. Either way round, the shipment
    is out for delivery, and the late attempt tells the recipient nothing."""
    reg = registration(0)
    attempt = tap(1, S.DELIVERY_ATTEMPTED, 18 * 3_600_000)
    again = tap(2, S.OUT_FOR_DELIVERY, 32 * 3_600_000)
    in_time = deliver([reg, attempt, again])
    assert (in_time.status, in_time.status_at_ms) == (S.OUT_FOR_DELIVERY, at(again))
    uploaded_late = deliver([reg, again, attempt])
    assert (uploaded_late.status, uploaded_late.status_at_ms) == (S.OUT_FOR_DELIVERY, at(again))
    assert not uploaded_late.advanced[attempt.event_id]
    assert not jobs_of(attempt) & uploaded_late.notices
