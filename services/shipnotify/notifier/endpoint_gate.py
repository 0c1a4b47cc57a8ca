"""Per-endpoint isolation in one notifier: at most `per_endpoint` tries in flight to one
endpoint, and an endpoint that asked us to wait (Retry-After) paused until then.

A message whose endpoint is full may wait here for a try to end, but briefly (`wait_s`) and
only so many at a time (`waiting` an endpoint, `waiting_in_all`), first come first served:
a slot that frees is handed to the next one at once, so a busy endpoint is kept busy
without a round trip through the due set for each of its messages. Past that, or once the
wait is over, the message is not held: it goes back to the due set a little later, so a
slow or dead endpoint never takes a lane slot or a turn from another endpoint, or from any
SMS or email (the worker does not count the waiting ones as notices under way)."""

from __future__ import annotations

import asyncio
from collections import Counter, deque


class EndpointGate:
    def __init__(
        self, per_endpoint: int, *, waiting: int | None = None, waiting_in_all: int = 1024
    ) -> None:
        self._per_endpoint = per_endpoint
        self._waiting_limit = 4 * per_endpoint if waiting is None else waiting
        self._waiting_in_all = waiting_in_all
        self._in_flight: Counter[str] = Counter()
        self._paused_until: dict[str, int] = {}
        self._queues: dict[str, deque[asyncio.Future[bool]]] = {}
        self.waiting = 0  # messages waiting for a slot, all endpoints together

    def paused_until_ms(self, endpoint_id: str, now_ms: int) -> int | None:
        until = self._paused_until.get(endpoint_id)
        if until is not None and until <= now_ms:
            del self._paused_until[endpoint_id]
            return None
        return until

    def crowded(self) -> bool:
        """As many waiting, all endpoints together, as may wait."""
        return self.waiting >= self._waiting_in_all

    def full(self, endpoint_id: str) -> bool:
        return self._in_flight[endpoint_id] >= self._per_endpoint

    def enter(self, endpoint_id: str) -> None:
        self._in_flight[endpoint_id] += 1

    async def enter_within(self, endpoint_id: str, wait_s: float) -> bool:
        """Takes a slot of the endpoint, waiting up to `wait_s` for one when it is full and
        fewer than `waiting` wait already; False when none was had (nothing is taken)."""
        queue = self._queues.get(endpoint_id)
        if not self.full(endpoint_id) and not queue:
            self.enter(endpoint_id)
            return True
        if wait_s <= 0 or self.waiting >= self._waiting_in_all:
            return False
        if queue is not None and len(queue) >= self._waiting_limit:
            return False
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[bool] = loop.create_future()  # True: a slot handed over
        queue = self._queues.setdefault(endpoint_id, deque())
        queue.append(turn)
        self.waiting += 1
        timer = loop.call_later(wait_s, self._out_of_line, endpoint_id, turn)
        try:
            return await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled() and turn.result():
                self.leave(endpoint_id)  # handed over just as its waiter was cancelled
            else:
                self._out_of_line(endpoint_id, turn)
            raise
        finally:
            timer.cancel()
            self.waiting -= 1

    def _out_of_line(self, endpoint_id: str, turn: asyncio.Future[bool]) -> None:
        """The wait is over with no slot: out of the line."""
        if not turn.done():
            turn.set_result(False)
        queue = self._queues.get(endpoint_id)
        if queue is not None and turn in queue:
            queue.remove(turn)
            if not queue:
                del self._queues[endpoint_id]

    def leave(self, endpoint_id: str) -> None:
        queue = self._queues.get(endpoint_id)
        while queue:  # the slot goes straight to the next in line, still counted in flight
            turn = queue.popleft()
            if not queue:
                self._queues.pop(endpoint_id, None)
            if not turn.done():
                turn.set_result(True)
                return
        self._in_flight[endpoint_id] -= 1
        if self._in_flight[endpoint_id] <= 0:
            del self._in_flight[endpoint_id]

    def pause(self, endpoint_id: str, until_ms: int) -> None:
        self._paused_until[endpoint_id] = max(until_ms, self._paused_until.get(endpoint_id, 0))
