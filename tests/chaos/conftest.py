"""Each scenario's figures go on its test report, so that the run's summary prints them
(tests/conftest.py) whether the tests ran in this process or in a worker of pytest-xdist."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .harness import REPORT


@pytest.fixture(autouse=True)
def figures_on_the_report(request: pytest.FixtureRequest) -> Iterator[None]:
    before = len(REPORT)
    yield
    request.node.user_properties.extend(("figures", line) for line in REPORT[before:])
