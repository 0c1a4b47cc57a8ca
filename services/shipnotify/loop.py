"""The event loop every entry point runs on: uvloop, which about halves the cost of each
socket read and write next to asyncio's own loop."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
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


def waiting_in() -> list[str]:
    """Where each task of the running loop waits, outermost call first: what a stop that took
    too long was waiting for."""
    current = asyncio.current_task()
    return [
        " -> ".join(f"{f.f_code.co_name} ({f.f_code.co_filename}:{f.f_lineno})" for f in stack)
        for task in asyncio.all_tasks()
        if task is not current and (stack := task.get_stack())
    ]
