"""A service asked to stop gets a bounded time to finish, and says where it hung if it did not."""

from __future__ import annotations

import asyncio

import pytest

from shipnotify import loop


async def _obeys(stop: asyncio.Event, done: list[str]) -> None:
    await stop.wait()
    await asyncio.sleep(0.01)  # finishing its batch
    done.append("finished")


async def _never_answered(stop: asyncio.Event) -> None:
    await stop.wait()
    await asyncio.Event().wait()  # a peer that never replies


async def test_work_that_finishes_after_the_stop_is_waited_for() -> None:
    stop, done = asyncio.Event(), list[str]()
    asyncio.get_running_loop().call_later(0.05, stop.set)
    assert await loop.until_stopped(_obeys(stop, done), stop, limit_s=5)
    assert done == ["finished"]


async def test_work_that_ends_on_its_own_needs_no_stop() -> None:
    async def short() -> None:
        await asyncio.sleep(0)

    assert await loop.until_stopped(short(), asyncio.Event(), limit_s=0.01)


async def test_a_stop_that_hangs_ends_after_the_limit_and_names_where_it_waits() -> None:
    stop = asyncio.Event()
    stop.set()
    # it returns at all (the work never ends) and says it was not finished: the limit ended it
    assert not await loop.until_stopped(_never_answered(stop), stop, limit_s=0.2)
    assert any("_never_answered (" in where for where in loop.waiting_in())


async def test_an_error_of_the_work_is_raised() -> None:
    async def fails() -> None:
        raise RuntimeError("broken")

    with pytest.raises(RuntimeError, match="broken"):
        await loop.until_stopped(fails(), asyncio.Event())


async def test_a_background_round_ends_with_its_block_even_if_it_takes_cancels_for_errors() -> None:
    """redis-py's cluster client answers a cancelled command, now and then, with an error of
    its own; a loop that logs errors and goes on was cancelled and never ended. `every` ends
    its rounds by an event, and lets the round in progress finish."""
    rounds, finished = asyncio.Event(), list[int]()

    async def round_() -> None:
        try:
            rounds.set()
            await asyncio.sleep(0.05)  # a Redis call in flight
        except asyncio.CancelledError:
            return  # taken for an error and logged, as the refreshers did: never cancelled
        finished.append(1)

    async with loop.every(0.01, round_):
        await rounds.wait()
    count = len(finished)
    assert count >= 1  # the round in flight when the block ended was finished
    await asyncio.sleep(0.1)
    assert len(finished) == count  # and none began after it
