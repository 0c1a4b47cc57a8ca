"""The sandboxes' injected faults: one-shot ones first, then a window by the given clock."""

from __future__ import annotations

import pytest

from shipnotify.devstack.faults import Faults


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def test_one_shot_faults_come_before_the_window_and_the_window_ends() -> None:
    clock = Clock()
    faults = Faults(clock)
    faults.set_window(10, 503)
    faults.add_next(2, 429)

    taken = [faults.take() for _ in range(3)]
    clock.now += 10

    assert taken == [429, 429, 503]
    assert faults.take() is None


def test_clear_ends_both() -> None:
    faults = Faults(Clock())
    faults.add_next(1, 500)
    faults.set_window(10, 500)

    faults.clear()

    assert faults.take() is None


def test_a_fault_is_one_of_the_sandboxs_statuses() -> None:
    faults = Faults(Clock(), statuses={404, 429})
    faults.add_next(1, 404)

    with pytest.raises(ValueError, match="not a status this sandbox fails with: 500"):
        faults.add_next(1, 500)
    with pytest.raises(ValueError, match="200"):
        Faults(Clock()).set_window(1, 200)
    assert faults.take() == 404
    assert faults.take() is None
