"""The benchmark's figures: one table for people, the same as JSON for machines, and the
targets each figure is held to."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    beside: str = ""  # what it is measured against, as text
    target: str = ""  # the target it is held to, as text
    met: bool | None = None  # None: no target


@dataclass
class Report:
    options: dict[str, Any]
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def add(
        self,
        name: str,
        value: float,
        unit: str,
        *,
        beside: str = "",
        at_least: float | None = None,
        at_most: float | None = None,
    ) -> Figure:
        met, target = None, ""
        if at_least is not None:
            met, target = value >= at_least, f">= {_num(at_least)}"
        if at_most is not None:
            met, target = value <= at_most, f"<= {_num(at_most)}"
        figure = Figure(name, value, unit, beside, target, met)
        self.figures.append(figure)
        return figure

    def table(self) -> Table:
        table = Table(title=f"shipnotify bench on {machine()}", title_justify="left")
        for column in ("figure", "value", "unit", "beside", "target"):
            table.add_column(column, justify="right" if column == "value" else "left")
        for f in self.figures:
            mark = "" if f.met is None else (" ok" if f.met else " MISSED")
            table.add_row(f.name, _num(f.value), f.unit, f.beside, f.target + mark)
        return table

    def print(self, console: Console) -> None:
        console.print(self.table())

    def write(self, path: Path) -> None:
        doc = {
            "machine": machine(),
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "options": self.options,
            "figures": [asdict(f) for f in self.figures],
            "details": self.details,
        }
        path.write_text(json.dumps(doc, indent=2) + "\n")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            names = [
                line.split(":", 1)[1].strip() for line in info if line.startswith("model name")
            ]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def _num(value: float) -> str:
    if value >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.2f}"
