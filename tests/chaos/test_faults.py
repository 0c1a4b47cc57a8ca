"""Every notice once, and every shipment right, whatever fails: 1,000 shipments and 6,000
events through the real services as processes, under one kind of fault per scenario."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from .harness import Figures, make_load, stack, timed

pytestmark = pytest.mark.timeout(400)

SHIPMENTS = 1000
SEED = 20261123


async def test_kill_9_of_the_tracker_and_the_notifier_ten_times_each(tmp_path: Path) -> None:
    figures = Figures("kill -9, tracker x10 and notifier x10")
    parcels = make_load(SHIPMENTS, SEED)
    rng = random.Random(SEED)
    async with stack(tmp_path) as s:
        with timed(figures):
            s.start_all()
            await s.ready()
            print("ready", flush=True)
            load = asyncio.create_task(s.drive(parcels, over_s=30))
            victims = ["tracker"] * 10 + ["notifier"] * 10
            rng.shuffle(victims)
            for name in victims:
                await asyncio.sleep(rng.uniform(0.5, 2.5))
                s.services.kill(name, rng)
                s.services.start(name)  # as the supervisor restarts it
            print("kills done", flush=True)
            await load
            print("load done", flush=True)
            expected = set().union(*(p.expected()[2] for p in parcels))
            await s.settle(expected, timeout_s=120)
        await s.verify(parcels, figures)
