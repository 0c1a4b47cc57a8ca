"""Scale-out on Kafka partitions: three trackers and two notifiers share a 12-partition
topic, every instance does a share, and nothing is lost or sent twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from .harness import Figures, Samples, make_load, scrape, stack, timed, total

# one scenario at a time, as test_faults.py; its own bound, as theirs
pytestmark = [pytest.mark.timeout(400), pytest.mark.xdist_group("faults")]

SHIPMENTS = 400


async def test_three_trackers_and_two_notifiers_share_twelve_partitions(tmp_path: Path) -> None:
    figures = Figures("3 trackers and 2 notifiers on 12 partitions, SMS answers late for 2 s")
    parcels = make_load(SHIPMENTS, seed=6)
    async with stack(tmp_path, kafka_partitions=12) as s:
        with timed(figures):
            s.start_all(trackers=3, notifiers=2)
            await s.ready()
            load = asyncio.create_task(s.drive(parcels, over_s=15))
            await asyncio.sleep(5)
            # for 2 s the provider takes messages but answers too late: notices in doubt,
            # which either notifier may take up
            s.sms.response_delay_s = s.settings.send_timeout_s + 0.5
            await asyncio.sleep(2)
            s.sms.response_delay_s = 0.0
            await load
            await s.settle(parcels)
        async with aiohttp.ClientSession() as http:
            seen = {
                name: [await scrape(http, s.services.http[p.pid]) for p in s.services.running[name]]
                for name in ("tracker", "notifier")
            }
        await s.verify(parcels, figures)  # every notice once, every shipment right

    trackers, notifiers = seen["tracker"], seen["notifier"]
    assert (len(trackers), len(notifiers)) == (3, 2)
    applied = [total(t, "shipnotify_events_applied_total") for t in trackers]
    sent = [total(n, "shipnotify_notices_total", outcome="sent") for n in notifiers]
    figures.extra["events applied by each tracker"] = applied
    figures.extra["notices sent by each notifier"] = sent
    assert all(applied), applied  # each did a share
    assert all(sent), sent
    # A notice whose answer timed out is settled by a later attempt's look-up or, first, by
    # the provider's delivery receipt (hooks): only those may be sent but not counted.
    unknown = sum(total(n, "shipnotify_send_failures_total", kind="unknown") for n in notifiers)
    assert unknown > 0
    assert len(s.delivered()) - unknown <= sum(sent) <= len(s.delivered())
    topics = {  # the trackers' two consumer groups, and the notifiers' one
        s.settings.events_topic: trackers,
        s.settings.feedback_topic: trackers,
        s.settings.notifications_topic: notifiers,
    }
    for topic, group in topics.items():
        owned = [_partitions(samples, topic) for samples in group]
        assert sum(map(len, owned)) == 12, (topic, owned)  # each partition owned by one
        assert set().union(*owned) == {str(p) for p in range(12)}


def _partitions(samples: Samples, topic: str) -> set[str]:
    return {
        dict(labels)["partition"]
        for (name, labels), _ in samples.items()
        if name == "shipnotify_consumer_lag" and dict(labels)["topic"] == topic
    }
