"""Waiting between tries: the exponential delays of every retry in the services, and the
tries of one operation, each after its predecessor's delay, that a stop cuts short."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass


def delay_s(attempt: int, *, first_s: float, cap_s: float, factor: float = 2.0) -> float:
    """The wait after try number `attempt` (1: the first) fails: `first_s`, then `factor`
    times the previous wait, never more than `cap_s`."""
    if attempt < 1 or first_s <= 0 or cap_s <= 0 or factor < 1:
        raise ValueError(f"no backoff: attempt {attempt}, {first_s} s, cap {cap_s} s, x{factor}")
    if first_s >= cap_s or factor == 1:
        return min(first_s, cap_s)
    # past the cap the power only grows: stopped there, it never overflows a float
    steps = min(attempt - 1, math.ceil(math.log(cap_s / first_s, factor)))
    return min(cap_s, first_s * factor**steps)


async def pause(seconds: float, stop: asyncio.Event | None = None) -> None:
    """Sleeps `seconds`, or until `stop` is set if that comes first."""
    if stop is None:
        await asyncio.sleep(seconds)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


@dataclass(frozen=True)
class Attempt:
    number: int  # 1: the first
    retry_in_s: float  # the wait before the next one, should this one fail


async def attempts(
    *, first_s: float, cap_s: float, stop: asyncio.Event | None = None, limit: int | None = None
) -> AsyncIterator[Attempt]:
    """The tries of one operation; the caller leaves the loop when one succeeds. The first
    comes at once, whatever `stop` says (work already taken is tried); each next one after
    its predecessor's `retry_in_s`. They end after `limit` tries, or once `stop` is set: a
    wait under way is cut short. With neither, they end only when the task is cancelled."""
    number = 1
    while True:
        attempt = Attempt(number, delay_s(number, first_s=first_s, cap_s=cap_s))
        yield attempt
        if number == limit or (stop is not None and stop.is_set()):
            return
        await pause(attempt.retry_in_s, stop)
        if stop is not None and stop.is_set():
            return
        number += 1
