"""The events topic's producer of the HTTP deployables (web/event_log.py) against Apache
Kafka: stopped at any moment of its connecting, it leaves no connection open."""

from __future__ import annotations

import asyncio
import gc
import warnings

import pytest

from shipnotify.config import Settings
from shipnotify.web.event_log import EventLog

pytestmark = pytest.mark.redis_agnostic  # its outcome does not depend on Redis: run once


@pytest.mark.parametrize("after_s", [0.0, 0.005, 0.02, 0.05, 0.1, 0.2, 0.4])
async def test_stopped_while_it_connects_it_leaves_nothing_open(
    settings: Settings, after_s: float
) -> None:
    """An app that stops at once (a test's, a pod stopped during its start) stops its event
    log amid the topics' check or the producer's start: aiokafka cancelled in its bootstrap
    would leave a connection open, which Python reports when it collects it."""
    events = EventLog(settings)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await events.start()
        await asyncio.sleep(after_s)
        await events.stop()
        await asyncio.sleep(0)
        gc.collect()
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert unclosed == []
