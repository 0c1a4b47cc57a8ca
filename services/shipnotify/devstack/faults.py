"""Injected HTTP failures of a sandbox's one endpoint: the next n requests, then a window of
seconds by the sandbox's clock."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Collection

HTTP_ERRORS = range(400, 600)


class Faults:
    """One-shot failures first, then the window. `statuses` are those the sandbox can answer."""

    def __init__(self, clock: Callable[[], float], statuses: Collection[int] = HTTP_ERRORS) -> None:
        self._clock = clock
        self._statuses = statuses
        self._next: deque[int] = deque()
        self._window_status = 500
        self._window_until = -math.inf

    def add_next(self, n: int, status: int) -> None:
        self._next.extend([self._checked(status)] * n)

    def set_window(self, seconds: float, status: int) -> None:
        self._window_status = self._checked(status)
        self._window_until = self._clock() + seconds

    def clear(self) -> None:
        self._next.clear()
        self._window_until = -math.inf

    def take(self) -> int | None:
        if self._next:
            return self._next.popleft()
        if self._clock() < self._window_until:
            return self._window_status
        return None

    def _checked(self, status: int) -> int:
        if status not in self._statuses:
            raise ValueError(f"not a status this sandbox fails with: {status}")
        return status
