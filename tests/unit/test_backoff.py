"""The backoff every retry shares: its delays, and tries that end (by a limit, or a stop)."""

from __future__ import annotations

import asyncio
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipnotify import backoff


def test_delays_double_from_the_first_up_to_the_cap() -> None:
    delays = [backoff.delay_s(n, first_s=0.2, cap_s=5.0) for n in range(1, 9)]
    assert delays == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0]


def test_another_factor_and_a_first_delay_over_the_cap() -> None:
    assert [backoff.delay_s(n, first_s=1.0, cap_s=100.0, factor=3) for n in (1, 2, 3, 5)] == [
        1.0,
        3.0,
        9.0,
        81.0,
    ]
    assert backoff.delay_s(1, first_s=2.0, cap_s=0.5) == 0.5
    assert backoff.delay_s(4, first_s=0.3, cap_s=9.0, factor=1) == 0.3


def test_a_late_attempt_stays_at_the_cap_without_overflowing() -> None:
    assert backoff.delay_s(10_000, first_s=2.0, cap_s=300.0) == 300.0


@pytest.mark.parametrize(
    ("attempt", "first_s", "cap_s", "factor"),
    [(0, 1.0, 2.0, 2.0), (1, 0.0, 2.0, 2.0), (1, 1.0, 0.0, 2.0), (1, 1.0, 2.0, 0.5)],
)
def test_no_backoff_from_nonsense(
    attempt: int, first_s: float, cap_s: float, factor: float
) -> None:
    with pytest.raises(ValueError, match="no backoff"):
        backoff.delay_s(attempt, first_s=first_s, cap_s=cap_s, factor=factor)


@given(
    st.integers(1, 5000),
    st.floats(0.001, 100.0),
    st.floats(0.001, 1000.0),
    st.floats(1.0, 10.0),
)
def test_a_delay_is_between_the_first_and_the_cap_and_never_shrinks(
    attempt: int, first_s: float, cap_s: float, factor: float
) -> None:
    delay = backoff.delay_s(attempt, first_s=first_s, cap_s=cap_s, factor=factor)
    assert min(first_s, cap_s) <= delay <= cap_s
    assert backoff.delay_s(attempt + 1, first_s=first_s, cap_s=cap_s, factor=factor) >= delay


async def _tries(
    first_s: float, cap_s: float, *, stop: asyncio.Event | None = None, limit: int | None = None
) -> list[backoff.Attempt]:
    return [a async for a in backoff.attempts(first_s=first_s, cap_s=cap_s, stop=stop, limit=limit)]


# A wait that should not happen is an hour long here: it would hold the test until its
# timeout. A wait that should is measured from below only (a slow machine only lengthens it).


async def test_tries_end_at_the_limit_each_after_its_predecessors_delay() -> None:
    started = time.monotonic()
    seen = await _tries(0.01, 0.02, limit=4)
    waited = time.monotonic() - started
    assert [(a.number, a.retry_in_s) for a in seen] == [(1, 0.01), (2, 0.02), (3, 0.02), (4, 0.02)]
    assert waited >= 0.05  # three waits


async def test_no_wait_follows_the_last_try() -> None:
    assert [a.number for a in await _tries(3600.0, 3600.0, limit=1)] == [1]


async def test_a_stop_ends_the_tries_and_cuts_a_wait_short() -> None:
    stop = asyncio.Event()
    seen = []
    async for attempt in backoff.attempts(first_s=3600.0, cap_s=3600.0, stop=stop):
        seen.append(attempt.number)
        asyncio.get_running_loop().call_later(0.05, stop.set)  # while it waits an hour
    assert seen == [1]


async def test_the_first_try_comes_even_when_already_stopped_and_is_the_last() -> None:
    stop = asyncio.Event()
    stop.set()
    assert [a.number for a in await _tries(30.0, 30.0, stop=stop)] == [1]


async def test_a_pause_sleeps_its_time_unless_stopped() -> None:
    started = time.monotonic()
    await backoff.pause(0.05)
    await backoff.pause(0.05, asyncio.Event())
    assert time.monotonic() - started >= 0.1
    stop = asyncio.Event()
    stop.set()
    await backoff.pause(3600.0, stop)  # returns at once
