"""The deployables as `shipnotify <name>` child processes, each logging to its own file:
the fault-injection suite and `shipnotify bench` run the services as an operator does."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from shipnotify.config import Settings
from shipnotify.devstack import processes


@dataclass
class Services:
    settings: Settings
    workdir: Path
    ports: dict[str, int]  # HTTP services -> their port
    running: dict[str, list[subprocess.Popen[bytes]]] = field(default_factory=dict)
    started: Counter[str] = field(default_factory=Counter)
    http: dict[int, int] = field(default_factory=dict)  # process id -> its HTTP port
    log: dict[int, Path] = field(default_factory=dict)  # process id -> its log file
    kills: int = 0
    python: str = sys.executable  # the interpreter whose install the services run from

    def start(self, name: str, **env_extra: str) -> subprocess.Popen[bytes]:
        # the consumer services serve their health and metrics on a port of their own too
        port = self.ports.get(name) or processes.free_port()
        port = int(env_extra.setdefault("SHIPNOTIFY_HTTP_PORT", str(port)))
        env = self.settings.child_env(**env_extra)
        self.started[name] += 1
        log = self.workdir / f"{name}-{self.started[name]}.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [self.python, "-m", "shipnotify", name],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.running.setdefault(name, []).append(proc)
        self.http[proc.pid] = port
        self.log[proc.pid] = log
        return proc

    def kill(self, name: str, rng: random.Random) -> None:
        """kill -9 of one instance: no commit, no goodbye."""
        instances = self.running[name]
        proc = instances.pop(rng.randrange(len(instances)))
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)
        self.kills += 1

    async def stop(self, name: str) -> int:
        """SIGTERM to the oldest instance: it finishes its work and leaves its group.
        Returns its exit code."""
        proc = self.running[name].pop(0)
        proc.send_signal(signal.SIGTERM)
        for _ in range(300):  # servers may run on this loop: wait without blocking it
            if proc.poll() is not None:
                break
            await asyncio.sleep(0.1)
        if proc.poll() is None:
            processes.stop(proc)
        return proc.returncode

    def count(self, name: str) -> int:
        return len(self.running.get(name, []))

    def stop_all(self) -> None:
        for instances in self.running.values():
            for proc in instances:
                processes.stop(proc, timeout_s=10)
        self.running.clear()

    def logs(self, name: str) -> str:
        return "".join(p.read_text() for p in sorted(self.workdir.glob(f"{name}-*.log")))
