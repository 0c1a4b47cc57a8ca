"""The event loop every entry point runs on: uvloop, which about halves the cost of each
socket read and write next to asyncio's own loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import uvloop

T = TypeVar("T")

# How long a service has, once asked to stop, to finish its batch and leave its group: well
# inside Kubernetes' grace period (60 s, deploy/k8s) and the fault suite's wait (30 s).
STOP_LIMIT_S = 20.0


def new() -> asyncio.AbstractEventLoop:
    return uvloop.new_event_loop()


def run(main: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=new) as runner:
        return runner.run(main)


async def until_stopped(
    work: Coroutine[Any, Any, None], stop: asyncio.Event, limit_s: float = STOP_LIMIT_S
) -> bool:
    """Runs `work`; once `stop` is set, gives it `limit_s` to finish. False when it did not:
    a wait on a peer that never answers must not keep a stopping process alive for ever."""
    task = asyncio.ensure_future(work)
    asked = asyncio.ensure_future(stop.wait())
    await asyncio.wait([task, asked], return_when=asyncio.FIRST_COMPLETED)
    asked.cancel()
    done, _ = await asyncio.wait([task], timeout=limit_s)
    if not done:
        return False
    task.result()  # its error, if it failed
    return True


@contextlib.asynccontextmanager
async def every(seconds: float, work: Callable[[], Awaitable[None]]) -> AsyncIterator[None]:
    """Runs `work` now and every `seconds` in the background until the block ends, then lets
    the round in progress finish. Ended by an event, not a cancellation: redis-py's cluster
    client can answer a cancelled command with an error of its own, and a loop that takes
    errors for Redis being away would then go on for ever."""
    stop = asyncio.Event()

    async def rounds() -> None:
        while not stop.is_set():
            await work()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), seconds)

    task = asyncio.create_task(rounds())
    try:
        yield
    finally:
        stop.set()
        await task


def waiting_in() -> list[str]:
    """Where each task of the running loop waits, outermost call first: what a stop that took
    too long was waiting for."""
    current = asyncio.current_task()
    return [
        " -> ".join(f"{f.f_code.co_name} ({f.f_code.co_filename}:{f.f_lineno})" for f in stack)
        for task in asyncio.all_tasks()
        if task is not current and (stack := task.get_stack())
    ]
