"""A business customer's webhooks outlast its endpoint's outage and the sender's deaths: every
`shipment.status_changed` of its shipments reaches the webhook sandbox, verified, at least
once; a message that arrives twice arrives under the same webhook-id, with the same bytes."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from shipnotify.devstack.webhook_sandbox import Mode

from .harness import Figures, make_load, stack, timed

# one scenario at a time, even with pytest-xdist's workers: each loads the machine on its own
pytestmark = [pytest.mark.timeout(400), pytest.mark.xdist_group("faults")]

SHIPMENTS = 200
ENDPOINT = "chaos-shop"


async def test_endpoint_down_for_30_s_then_the_notifier_killed_ten_times(tmp_path: Path) -> None:
    figures = Figures("webhooks: endpoint 500 then silent, 30 s; notifier kill -9 x10")
    parcels = make_load(SHIPMENTS, seed=19)
    expected = {(p.shipment_id, status) for p in parcels for status in p.advances()}
    rng = random.Random(19)
    async with stack(tmp_path) as s:
        with timed(figures):
            s.start_all()
            await s.ready()
            account = await s.open_account("Chaos Shop", ENDPOINT, ["shipment.status_changed"])
            load = asyncio.create_task(s.drive(parcels, over_s=50, api_key=account.key))
            await asyncio.sleep(3)
            s.webhooks.set_mode(ENDPOINT, Mode.FAIL)  # 500 to every try
            await asyncio.sleep(15)
            s.webhooks.set_mode(ENDPOINT, Mode.HANG)  # down: no answer, each try times out
            await asyncio.sleep(15)
            s.webhooks.set_mode(ENDPOINT, Mode.OK)
            for _ in range(10):
                await asyncio.sleep(rng.uniform(0.5, 2.5))
                s.services.kill("notifier", rng)
                s.services.start("notifier")  # as the supervisor restarts it
            await load
            await s.settle_webhooks(ENDPOINT, expected)
            await s.settle(parcels)
        s.verify_webhooks(ENDPOINT, expected, figures)
        await s.verify(parcels, figures)  # and the notices, once each, as ever
