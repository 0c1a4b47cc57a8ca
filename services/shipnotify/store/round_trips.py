"""Commands of many callers in one round trip: what the notifier's notices ask of Redis
within one turn of the event loop (their claims, states, finishes, gates) goes in one
pipeline, each caller awaiting its own answers. Round trips, not Redis's work, were most of
what a notice cost the notifier; a notice's own steps still go in order, each awaited.

Each caller's commands keep their meaning: a script runs atomically as on its own, and the
commands of one caller run in the order given (a pipeline is not a transaction, as the
single commands were not). A script Redis forgot (restarted) is loaded and the callers whose
script did not run are sent again. A cluster client pipelines no scripts: there each caller
makes its own pipeline, as before."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

Commands = Callable[[Pipeline], object]  # adds one caller's commands to a pipeline


class RoundTrips:
    def __init__(self, redis: Redis, scripts: Sequence[AsyncScript]) -> None:
        self._redis = redis
        self._scripts = list(scripts)
        self._waiting: list[tuple[Commands, asyncio.Future[list[Any]]]] = []
        self._sending: set[asyncio.Task[None]] = set()

    async def run(self, commands: Commands) -> list[Any]:
        """The answers to `commands`, sent with whatever else is asked in this turn of the
        loop; an error answer is raised (the first), as the command alone would have."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[list[Any]] = loop.create_future()
        self._waiting.append((commands, answer))
        if len(self._waiting) == 1:
            loop.call_soon(self._send)
        answers = await answer
        for one in answers:
            if isinstance(one, Exception):
                raise one
        return answers

    def _send(self) -> None:
        batch, self._waiting = self._waiting, []
        task = asyncio.create_task(self._execute(batch))
        self._sending.add(task)  # held: a task only the loop refers to may be collected
        task.add_done_callback(self._sending.discard)

    async def _execute(self, batch: list[tuple[Commands, asyncio.Future[list[Any]]]]) -> None:
        try:
            answers = await self._pipelined([commands for commands, _ in batch])
            forgot = [i for i, one in enumerate(answers) if _no_script(one)]
            if forgot:  # a restarted Redis forgot the scripts: they did not run, so again
                for script in self._scripts:
                    await self._redis.script_load(script.script)
                again = await self._pipelined([batch[i][0] for i in forgot])
                for i, one in zip(forgot, again, strict=True):
                    answers[i] = one
        except BaseException as e:  # the connection's trouble is every caller's
            for _, answer in batch:
                if not answer.done():
                    answer.set_exception(e)
            if not isinstance(e, Exception):
                raise
            return
        for (_, answer), one in zip(batch, answers, strict=True):
            if not answer.done():  # its caller may have been cancelled meanwhile
                answer.set_result(one)

    async def _pipelined(self, callers: list[Commands]) -> list[list[Any]]:
        pipe = self._redis.pipeline(transaction=False)
        sizes = []
        for commands in callers:
            before = len(pipe)
            commands(pipe)
            sizes.append(len(pipe) - before)
        flat = await pipe.execute(raise_on_error=False)
        out, at = [], 0
        for size in sizes:
            out.append(list(flat[at : at + size]))
            at += size
        return out


def _no_script(answers: list[Any]) -> bool:
    return any(isinstance(one, NoScriptError) for one in answers)
