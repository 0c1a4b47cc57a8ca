"""The Java processes of this machine as /proc shows them, to check that no broker's JVM
outlives what started it."""

from __future__ import annotations

import contextlib
from pathlib import Path


def java_processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every running java."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):  # gone meanwhile
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if Path(argv[0].decode(errors="replace")).name != "java":
                continue  # a zombie's is empty
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            found[int(entry.name)] = (ppid, " ".join(a.decode(errors="replace") for a in argv))
    return found


def naming(path: Path) -> set[int]:
    """The javas whose command line names `path` (a broker's config is in its workdir)."""
    return {pid for pid, (_, cmd) in java_processes().items() if str(path) in cmd}


def children_of(parent: int) -> set[int]:
    return {pid for pid, (ppid, _) in java_processes().items() if ppid == parent}
