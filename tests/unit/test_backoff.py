"""The backoff every retry shares: its delays, and tries that end (by a limit, or a stop)."""

from __future__ import annotations

import asyncio
from typing import Any

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


# No clock is read here: a wait that should not end is an hour long, seen pending while the
# loop runs everything else that is ready; one that should not happen would hold the test
# until its timeout.


async def pending_after_a_turn(waiting: asyncio.Future[Any]) -> bool:
    for _ in range(20):  # every callback ready now, and those they make ready, run
        await asyncio.sleep(0)
    return not waiting.done()


async def test_tries_end_at_the_limit_each_with_its_delay() -> None:
    seen = await _tries(0.01, 0.02, limit=4)
    assert [(a.number, a.retry_in_s) for a in seen] == [(1, 0.01), (2, 0.02), (3, 0.02), (4, 0.02)]


async def test_a_next_try_comes_only_after_its_predecessors_delay() -> None:
    tries = backoff.attempts(first_s=3600.0, cap_s=3600.0)
    assert (await anext(tries)).number == 1
    second = asyncio.ensure_future(anext(tries))
    assert await pending_after_a_turn(second)  # an hour to go
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second


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
    await backoff.pause(0.01)
    await backoff.pause(0.01, asyncio.Event())
    alone = asyncio.ensure_future(backoff.pause(3600.0))
    stop = asyncio.Event()
    stoppable = asyncio.ensure_future(backoff.pause(3600.0, stop))
    assert await pending_after_a_turn(alone)
    assert await pending_after_a_turn(stoppable)
    stop.set()
    await asyncio.wait_for(stoppable, timeout=60)  # the stop, not the hour, ended it
    alone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await alone
    await backoff.pause(3600.0, stop)  # already stopped: returns at once
