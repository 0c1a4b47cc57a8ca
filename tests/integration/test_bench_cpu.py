"""The bench's CPU accounting, read from this machine's /proc."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from shipnotify.bench import cpu


def test_a_busy_stretch_is_counted_as_this_processs_cpu_and_the_machines() -> None:
    first = cpu.mark(os.getpid())
    until = time.process_time() + 0.3
    while time.process_time() < until:  # a third of a second of CPU, spent here
        pass
    spent = cpu.between(first, cpu.mark(os.getpid()))
    # /proc counts in clock ticks: each of the two readings may be a tick short on every core
    tick_s, cores = 1 / os.sysconf("SC_CLK_TCK"), os.cpu_count() or 1
    assert 0.25 <= spent.process_s <= spent.wall_s + 2 * tick_s
    # the machine at least as busy as this process, at most all its cores (others may run)
    assert spent.process_cores - 0.1 <= spent.busy_cores
    assert spent.busy_cores <= cores + 2 * tick_s * cores / spent.wall_s


def test_a_process_gone_since_counts_no_cores() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    first = cpu.mark(child.pid)
    child.wait()
    assert cpu.cores_since(first, child.pid) == 0.0
