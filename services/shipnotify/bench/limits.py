"""The limits the services are held to, worked out from what a run measured: Redis's own
cost of an event from its command statistics, and the search for the whole pipeline's
saturation rate. Pure: the run (run.py) does the measuring."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SCRIPTS = "cmdstat_evalsha"  # how the tracker calls its scripts (store/tracking.py, day_figures.py)


@dataclass(frozen=True)
class RedisCost:
    """Redis's own time for a number of events, from INFO commandstats and INFO cpu read
    before and after."""

    events: int
    script_calls: int
    script_usec: int  # EVALSHA's time: the scripts' own commands within it
    cpu_usec: float  # the main thread's CPU: every command and the sockets' reading and writing
    commands: dict[str, dict[str, int]] = field(default_factory=dict)  # each command's share

    @property
    def script_usec_per_event(self) -> float:
        return self.script_usec / max(self.events, 1)

    @property
    def cpu_usec_per_event(self) -> float:
        return self.cpu_usec / max(self.events, 1)

    @property
    def limit(self) -> float:
        """Events a second one Redis could apply if it did nothing but the scripts."""
        return 1e6 / self.script_usec_per_event if self.script_usec else 0.0

    @property
    def cpu_limit(self) -> float:
        """Events a second one Redis core could take, all its work for them counted."""
        return 1e6 / self.cpu_usec_per_event if self.cpu_usec else 0.0


def redis_cost(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    cpu_before: Mapping[str, Any],
    cpu_after: Mapping[str, Any],
    events: int,
) -> RedisCost:
    """The cost of `events` from two readings of INFO commandstats and INFO cpu (as redis-py
    parses them). A command run by a script is counted twice by Redis, once within the
    script's time and once under its own name: only EVALSHA's time is the scripts' cost."""
    commands: dict[str, dict[str, int]] = {}
    for name, stats in after.items():
        was = before.get(name, {})
        calls = int(stats.get("calls", 0)) - int(was.get("calls", 0))
        usec = int(stats.get("usec", 0)) - int(was.get("usec", 0))
        if calls > 0:
            commands[name.removeprefix("cmdstat_")] = {"calls": calls, "usec": usec}
    scripts = commands.get(SCRIPTS.removeprefix("cmdstat_"), {"calls": 0, "usec": 0})
    # a Redis before 6.2 tells only the whole process's CPU, its I/O threads' included
    main = "_main_thread" if "used_cpu_user_main_thread" in cpu_after else ""
    cpu = sum(
        float(cpu_after[k]) - float(cpu_before[k])
        for k in (f"used_cpu_user{main}", f"used_cpu_sys{main}")
    )
    return RedisCost(
        events=events,
        script_calls=scripts["calls"],
        script_usec=scripts["usec"],
        cpu_usec=cpu * 1e6,
        commands=commands,
    )


# -- the saturation rate -------------------------------------------------------------------

GROWTH = 0.1  # of the notices planned a second: the backlog's growth still called flat
KEPT_PACE = 0.95  # of the rate asked: what ingest must have accepted for a level to count


@dataclass(frozen=True)
class Level:
    """One fixed tap rate held for a while: what was asked, what ingest accepted, and the
    notifier's backlog (notices planned by the accepted taps, less those at the sandboxes)
    sampled as (seconds since the level began, notices)."""

    rate: float  # taps a second asked
    accepted: float  # taps a second ingest accepted
    notices_per_second: float  # planned by the accepted taps
    backlog: Sequence[tuple[float, float]]


def slope(samples: Sequence[tuple[float, float]]) -> float:
    """The least-squares slope of the samples: how fast the backlog grows, a second."""
    n = len(samples)
    if n < 2:
        return 0.0
    mt = sum(t for t, _ in samples) / n
    mb = sum(b for _, b in samples) / n
    spread = sum((t - mt) ** 2 for t, _ in samples)
    if spread == 0:
        return 0.0
    return sum((t - mt) * (b - mb) for t, b in samples) / spread


def growth(level: Level) -> float:
    """How fast the backlog grew over the level's last two thirds (the first is the
    pipeline filling), notices a second."""
    if not level.backlog:
        return 0.0
    end = level.backlog[-1][0]
    return slope([(t, b) for t, b in level.backlog if t >= end / 3])


def flat(level: Level) -> bool:
    """Whether the pipeline kept up: ingest took the taps at the rate asked, and the
    backlog grew by less than a tenth of the notices planned a second."""
    if level.accepted < KEPT_PACE * level.rate or not level.backlog:
        return False
    return growth(level) <= GROWTH * level.notices_per_second


class RateSearch:
    """The highest flat rate: up from the first by doubling until a level is not flat
    (down by halving if the first is not), then bisecting between the highest flat and
    the lowest not flat until they are within `precision` of each other. The caller
    stops asking when its time is spent."""

    def __init__(self, first: float, *, precision: float = 0.1, floor: float = 1.0) -> None:
        self.first = first
        self.precision = precision
        self.floor = floor  # no rate below it is tried
        self.flat: float | None = None  # the highest flat rate seen
        self.steep: float | None = None  # the lowest rate seen not flat
        self.tried: list[tuple[float, bool]] = []

    def next(self) -> float | None:
        """The next rate to try; None when the bounds are close enough."""
        if not self.tried:
            return self.first
        if self.steep is None:
            assert self.flat is not None
            return self.flat * 2
        if self.flat is None:
            half = self.steep / 2
            return half if half >= self.floor else None
        if self.steep <= self.flat * (1 + self.precision):
            return None
        return (self.flat + self.steep) / 2

    def saw(self, rate: float, was_flat: bool) -> None:
        self.tried.append((rate, was_flat))
        if was_flat:
            self.flat = max(rate, self.flat or rate)
        else:
            self.steep = min(rate, self.steep or rate)

    @property
    def best(self) -> float:
        """The highest flat rate; when none was, half the lowest tried (below every rate
        tried, so below saturation, if by an unknown margin)."""
        if self.flat is not None:
            return self.flat
        return min(rate for rate, _ in self.tried) / 2 if self.tried else 0.0
