"""Per-endpoint isolation in one notifier: at most `per_endpoint` tries in flight to one
endpoint, and an endpoint that asked us to wait (Retry-After) paused until then. A message
whose endpoint is full or paused is not held: it goes back to the due set a little later, so
a slow or dead endpoint never takes a task, a lane slot or a turn from another endpoint, or
from any SMS or email."""

from __future__ import annotations

from collections import Counter


class EndpointGate:
    def __init__(self, per_endpoint: int) -> None:
        self._per_endpoint = per_endpoint
        self._in_flight: Counter[str] = Counter()
        self._paused_until: dict[str, int] = {}

    def paused_until_ms(self, endpoint_id: str, now_ms: int) -> int | None:
        until = self._paused_until.get(endpoint_id)
        if until is not None and until <= now_ms:
            del self._paused_until[endpoint_id]
            return None
        return until

    def full(self, endpoint_id: str) -> bool:
        return self._in_flight[endpoint_id] >= self._per_endpoint

    def enter(self, endpoint_id: str) -> None:
        self._in_flight[endpoint_id] += 1

    def leave(self, endpoint_id: str) -> None:
        self._in_flight[endpoint_id] -= 1
        if self._in_flight[endpoint_id] <= 0:
            del self._in_flight[endpoint_id]

    def pause(self, endpoint_id: str, until_ms: int) -> None:
        self._paused_until[endpoint_id] = max(until_ms, self._paused_until.get(endpoint_id, 0))
