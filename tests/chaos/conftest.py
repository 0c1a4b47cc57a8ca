"""The fault-injection suite prints each scenario's figures at the end of the run."""

from __future__ import annotations

import pytest

from .harness import REPORT


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if REPORT:
        terminalreporter.section("fault injection: figures")
        for line in REPORT:
            terminalreporter.write_line(line)
