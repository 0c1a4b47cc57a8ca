"""The webhook lane's per-endpoint gate: a full endpoint's messages wait briefly, a few at
a time and in order, and each slot that frees goes to the next of them."""

from __future__ import annotations

import asyncio

from shipnotify.notifier.endpoint_gate import EndpointGate


async def test_a_freed_slot_goes_to_the_first_in_line() -> None:
    gate = EndpointGate(2, waiting=2)
    assert await gate.enter_within("ep", 1.0)
    assert await gate.enter_within("ep", 1.0)
    assert gate.full("ep")
    first = asyncio.create_task(gate.enter_within("ep", 5.0))
    second = asyncio.create_task(gate.enter_within("ep", 5.0))
    await asyncio.sleep(0)
    assert gate.waiting == 2
    assert not await gate.enter_within("ep", 5.0)  # the line is full: back to the due set
    gate.leave("ep")
    assert await first
    assert not second.done()
    assert gate.full("ep")  # the slot was handed over, never freed
    gate.leave("ep")
    assert await second
    assert gate.waiting == 0
    for _ in range(2):
        gate.leave("ep")
    assert not gate.full("ep")
    assert await gate.enter_within("ep", 0.0)


async def test_a_wait_ends_in_time_holding_nothing() -> None:
    gate = EndpointGate(1)
    assert await gate.enter_within("ep", 0.0)
    assert not await gate.enter_within("ep", 0.0)  # no wait asked: none
    assert not await gate.enter_within("ep", 0.05)
    assert gate.waiting == 0
    assert await gate.enter_within("other", 0.0)  # another endpoint is not held up
    gate.leave("ep")
    assert not gate.full("ep")


async def test_a_cancelled_wait_gives_back_what_it_was_handed() -> None:
    gate = EndpointGate(1)
    assert await gate.enter_within("ep", 0.0)
    waiter = asyncio.create_task(gate.enter_within("ep", 5.0))
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    gate.leave("ep")
    assert not gate.full("ep")
    assert gate.waiting == 0
