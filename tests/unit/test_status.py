from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from shipnotify.model.status import (
    RANK,
    TERMINAL,
    Shipment,
    Status,
    advances,
    script_args,
)

S = Status


def walk(*steps: tuple[str, Status, int]) -> Shipment:
    shipment = Shipment()
    for event_id, status, at in steps:
        shipment.apply(event_id, status, at)
    return shipment


def test_forward_moves_advance() -> None:
    path = [
        S.REGISTERED,
        S.CONFIRMED,
        S.AWAITING_PICKUP,
        S.PICKED_UP,
        S.IN_TRANSIT,
        S.OUT_FOR_DELIVERY,
        S.DELIVERED,
    ]
    shipment = Shipment()
    for i, status in enumerate(path):
        assert shipment.apply(f"e{i}", status, i) is True
    assert shipment.status is S.DELIVERED


def test_skipping_stages_is_a_forward_move() -> None:
    assert walk(("a", S.REGISTERED, 1), ("b", S.OUT_FOR_DELIVERY, 2)).status is S.OUT_FOR_DELIVERY


def test_terminal_states_are_final() -> None:
    for terminal, later in itertools.product(TERMINAL, Status):
        shipment = walk(("a", S.PICKED_UP, 1), ("b", terminal, 2))
        assert shipment.apply("c", later, 3) is False
        assert shipment.status is terminal


def test_late_lower_status_is_kept_but_does_not_regress() -> None:
    shipment = walk(("a", S.OUT_FOR_DELIVERY, 100))
    # tapped earlier, uploaded later: recorded (not a duplicate), not applied
    assert shipment.apply("b", S.PICKED_UP, 50) is False
    assert "b" in shipment.seen
    assert shipment.status is S.OUT_FOR_DELIVERY


def test_same_status_again_does_not_advance() -> None:
    shipment = walk(("a", S.IN_TRANSIT, 1))
    assert shipment.apply("b", S.IN_TRANSIT, 2) is False


def test_duplicate_event_id_changes_nothing() -> None:
    shipment = walk(("a", S.PICKED_UP, 1))
    assert shipment.apply("a", S.DELIVERED, 2) is None
    assert shipment.status is S.PICKED_UP
    assert shipment.seen == {"a": True}


def test_redelivery_loop_after_a_failed_attempt() -> None:
    shipment = walk(("a", S.OUT_FOR_DELIVERY, 1), ("b", S.DELIVERY_ATTEMPTED, 2))
    assert shipment.apply("c", S.OUT_FOR_DELIVERY, 3) is True  # next day, out again
    assert shipment.apply("d", S.DELIVERY_ATTEMPTED, 4) is True
    assert shipment.apply("e", S.IN_TRANSIT, 5) is True  # back to the depot
    assert shipment.status is S.IN_TRANSIT


def test_redelivery_loop_only_when_it_happened_after_the_attempt() -> None:
    shipment = walk(("a", S.DELIVERY_ATTEMPTED, 10))
    assert shipment.apply("b", S.OUT_FOR_DELIVERY, 9) is False
    assert shipment.status is S.DELIVERY_ATTEMPTED


def test_first_event_of_any_status_sets_the_status() -> None:
    for status in Status:
        assert advances(None, 0, status, 0)


def test_script_args_encode_the_same_rule() -> None:
    """The Redis script decides from script_args(); it must agree with advances()."""
    for current, new in itertools.product(Status, Status):
        always, later = script_args(new)
        for cur_at, new_at in ((1, 2), (2, 1)):
            scripted = f",{current}," in always or (f",{current}," in later and new_at > cur_at)
            assert scripted == advances(current, cur_at, new, new_at), (current, new, cur_at)


def test_terminal_statuses_share_the_top_rank() -> None:
    top = max(RANK.values())
    assert {s for s in Status if RANK[s] == top} == TERMINAL


events = st.lists(
    st.tuples(st.sampled_from(list(Status)), st.integers(min_value=0, max_value=50)),
    min_size=1,
    max_size=12,
)


@given(events)
def test_redelivered_events_change_nothing(steps: list[tuple[Status, int]]) -> None:
    tagged = [(f"e{i}", s, at) for i, (s, at) in enumerate(steps)]
    once = walk(*tagged)
    twice = walk(*tagged, *tagged[::-1], *tagged)
    assert (once.status, once.seen) == (twice.status, twice.seen)


@given(events)
def test_status_never_moves_back_in_rank_except_by_a_later_loop(
    steps: list[tuple[Status, int]],
) -> None:
    shipment = Shipment()
    for i, (status, at) in enumerate(steps):
        before, before_at = shipment.status, shipment.status_at_ms
        shipment.apply(f"e{i}", status, at)
        if before is not None and shipment.status is not before:
            assert shipment.status is not None
            lower = RANK[shipment.status] < RANK[before]
            assert not lower or (before is S.DELIVERY_ATTEMPTED and at > before_at)
            assert before not in TERMINAL
