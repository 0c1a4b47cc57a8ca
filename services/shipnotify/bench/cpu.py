"""CPU time a process spent, and the machine's cores busy, between two moments (Linux's
/proc): what a step cost beside how fast it went."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Mark:
    at_s: float  # monotonic
    process_s: float  # the process's user and system time so far
    busy_s: float  # every core's time not idle so far (/proc/stat), summed


def mark(pid: int) -> Mark:
    return Mark(time.monotonic(), _process_s(pid), _busy_s())


@dataclass(frozen=True)
class Spent:
    wall_s: float
    process_s: float
    busy_cores: float  # the whole machine's, on average

    @property
    def process_cores(self) -> float:
        return self.process_s / self.wall_s if self.wall_s else 0.0


def between(first: Mark, last: Mark) -> Spent:
    wall = last.at_s - first.at_s
    busy = (last.busy_s - first.busy_s) / wall if wall else 0.0
    return Spent(wall, last.process_s - first.process_s, busy)


def cores_since(first: Mark, pid: int) -> float:
    """The cores the process kept busy since `first` (0 once it is gone)."""
    try:
        return between(first, mark(pid)).process_cores
    except FileNotFoundError:
        return 0.0


def _process_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        # the fields after the command's name, which is in parentheses and may hold spaces
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * _TICK_S  # utime, stime


def _busy_s() -> float:
    with open("/proc/stat") as stat:
        cpu = [int(x) for x in stat.readline().split()[1:]]
    idle = cpu[3] + cpu[4]  # idle, iowait
    return (sum(cpu[:8]) - idle) * _TICK_S  # guest time is within user time already
