"""A circuit breaker per channel: while a provider is down, its notices wait in the due set
instead of holding senders, so the other channel and the tracking state go on."""

from __future__ import annotations

import time
from dataclasses import dataclass

from shipnotify import backoff
from shipnotify.notifier.outcomes import Outcome, Sent


@dataclass
class Breaker:
    threshold: int = 3
    first_pause_s: float = 1.0
    max_pause_s: float = 30.0
    failures: int = 0  # in a row
    open_until: float = 0.0

    def closed(self, now: float | None = None) -> bool:
        return (time.monotonic() if now is None else now) >= self.open_until

    def saw(self, outcome: Outcome, now: float | None = None) -> None:
        """A provider's answer: a failure that may pass counts against it; a permanent one
        is the notice's, not the provider's."""
        if isinstance(outcome, Sent):
            self.succeeded()
        elif not outcome.permanent:
            self.failed(now)

    def succeeded(self) -> None:
        self.failures = 0

    def failed(self, now: float | None = None) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            # each failure past the threshold doubles the pause
            pause_s = backoff.delay_s(
                self.failures - self.threshold + 1,
                first_s=self.first_pause_s,
                cap_s=self.max_pause_s,
            )
            self.open_until = (time.monotonic() if now is None else now) + pause_s

    def remaining_s(self, now: float | None = None) -> float:
        return max(0.0, self.open_until - (time.monotonic() if now is None else now))
