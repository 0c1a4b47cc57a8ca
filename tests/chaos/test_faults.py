"""Every notice once, and every shipment right, whatever fails: 500 shipments and over
3,000 events through the real services as processes, one kind of fault per scenario."""

from __future__ import annotations

import asyncio
import random
import signal
from pathlib import Path

import pytest

from .harness import Figures, Parcel, Stack, make_load, stack, timed

# one scenario at a time, even with pytest-xdist's workers: each loads the machine on its own
pytestmark = [pytest.mark.timeout(400), pytest.mark.xdist_group("faults")]

SHIPMENTS = 500


async def test_kill_9_of_the_tracker_and_the_notifier_ten_times_each(tmp_path: Path) -> None:
    figures = Figures("kill -9, tracker x10 and notifier x10")
    parcels = make_load(SHIPMENTS, seed=1)
    rng = random.Random(1)
    async with stack(tmp_path) as s:
        with timed(figures):
            s.start_all()
            await s.ready()
            load = asyncio.create_task(s.drive(parcels, over_s=30))
            victims = ["tracker"] * 10 + ["notifier"] * 10
            rng.shuffle(victims)
            for name in victims:
                await asyncio.sleep(rng.uniform(0.5, 2.5))
                s.services.kill(name, rng)
                s.services.start(name)  # as the supervisor restarts it
            await load
            await s.settle(parcels)
        await s.verify(parcels, figures)


async def test_sms_provider_failing_and_smtp_down_for_30_s(tmp_path: Path) -> None:
    figures = Figures("SMS 500 then 429, SMTP down, 30 s")
    parcels = make_load(SHIPMENTS, seed=2)
    probes = make_load(25, seed=2, first=SHIPMENTS)  # tapped one by one during the outage
    outage = asyncio.Event()  # set while neither provider takes a notice
    async with stack(tmp_path) as s:
        with timed(figures):
            s.start_all()
            await s.ready()
            load = asyncio.create_task(s.drive(parcels, over_s=30))
            await asyncio.sleep(5)
            s.sms.fail_for(15, 500)
            s.mail.stop()
            outage.set()
            probing = asyncio.create_task(s.probe(probes, every_s=0.5, faulted=outage.is_set))
            await asyncio.sleep(15)
            s.sms.fail_for(15, 429)
            await asyncio.sleep(15)
            outage.clear()
            s.mail.start()
            await load
            await s.settle(parcels + probes)
        shown = await probing
        lags = sorted(p.lag_s for p in shown)
        figures.extra["tracking lag during the outage, max ms"] = round(lags[-1] * 1000)
        figures.extra["median ms"] = round(lags[len(lags) // 2] * 1000)
        await s.verify(parcels + probes, figures)
    # A provider's outage never holds up the tracking page. The probe sends each tap once the
    # last is shown: held up, the first tap of the outage would be shown only after it, and
    # no other would be sent during it. Only the last tap sent during it may be shown after.
    during = [p for p in shown if p.faulted_when_accepted]
    assert len(during) > 1, shown
    assert all(p.faulted_when_shown for p in during[:-1]), during


async def test_broker_unreachable_for_15_s(tmp_path: Path) -> None:
    figures = Figures("broker unreachable, 15 s")
    parcels = make_load(SHIPMENTS, seed=3)
    async with stack(tmp_path) as s:
        with timed(figures):
            s.start_all()
            await s.ready()
            load = asyncio.create_task(s.drive(parcels, over_s=30))
            await asyncio.sleep(8)
            s.broker.proc.send_signal(signal.SIGSTOP)  # every connection hangs
            await asyncio.sleep(3)  # past a readiness probe's own timeout
            # the public side needs no broker: it stays ready and serves, live pages too
            public = await s.public_side(parcels[0])
            await asyncio.sleep(12)
            s.broker.proc.send_signal(signal.SIGCONT)
            await load
            await s.settle(parcels)
        figures.extra["503 with Retry-After"] = s.refused[503]
        await s.verify(parcels, figures)
    assert s.refused[503] > 0  # ingest said so, and the couriers' apps tried again
    assert public["ready"] == 200, public
    assert public["page"] == (200, "text/html"), public
    assert public["json"][0] == 200, public
    assert public["live"] == (200, b"event: update"), public


async def test_instances_added_and_removed_under_load(tmp_path: Path) -> None:
    figures = Figures("tracker and notifier instances added and removed")
    parcels = make_load(SHIPMENTS, seed=4)
    changes = 0
    async with stack(tmp_path) as s:
        with timed(figures):
            s.start_all()
            await s.ready()
            load = asyncio.create_task(s.drive(parcels, over_s=30))
            for step in ("add", "add", "remove", "add", "remove", "remove"):
                await asyncio.sleep(4)
                for name in ("tracker", "notifier"):
                    if step == "add":
                        s.services.start(name)
                    else:
                        log = s.services.log[s.services.running[name][0].pid]  # the oldest's
                        code = await s.services.stop(name)
                        assert code == 0, (
                            f"{name} did not stop cleanly ({code}):\n" + (log.read_text()[-3000:])
                        )
                    changes += 1
            await load
            await s.settle(parcels)
        figures.extra["instances added or removed"] = changes
        await s.verify(parcels, figures)


async def test_redis_restarted_empty_and_rebuilt_from_the_events_topic(tmp_path: Path) -> None:
    figures = Figures("Redis restarted empty, then `shipnotify rebuild`")
    parcels = make_load(SHIPMENTS, seed=5)
    halfway = [Parcel(p.shipment_id, p.registration, p.taps[:3], p.contacts) for p in parcels]
    early, rest = parcels[:200], parcels[200:]  # early: a tap arrives while Redis is empty
    async with stack(tmp_path) as s:
        with timed(figures):
            s.start_all()
            await s.ready()
            await s.drive(halfway, over_s=15)
            await s.settle(halfway)
            before, sent_before = await s.snapshot(parcels), s.delivered()
            # an emptied Redis forgets which notices were in doubt: an email sent twice
            # before it was emptied must have been in doubt then
            doubted = await s.in_doubt_ids(parcels)
            assert {n for n, c in sent_before.items() if c > 1} <= doubted, sent_before

            failed = _failed_batches(s)
            await s.restart_redis_empty()
            await s.drive(early, over_s=1, skip=4, upto=5)  # ingest needs only Kafka
            for _ in range(300):  # 30 s: the tracker meets the empty Redis with them
                if _failed_batches(s) > failed:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the tracker never took the taps sent after the restart")
            # The tracker and the notifier hold their offsets: nothing applied, nothing sent.
            assert all(v == [{}, {}] for v in (await s.snapshot(parcels)).values())
            assert s.delivered() == sent_before
            out = await s.run("rebuild")
            after = await s.snapshot(rest)
            assert after == {p.shipment_id: before[p.shipment_id] for p in rest}  # exactly
            await asyncio.gather(
                s.drive(early, over_s=15, skip=5), s.drive(rest, over_s=15, skip=4)
            )
            await s.settle(parcels)
        figures.extra["rebuild"] = out.strip().splitlines()[-1]
        await s.verify(parcels, figures, doubted=doubted)


def _failed_batches(s: Stack) -> int:
    """The tracker's batches that failed (and are tried again), as its log tells them."""
    return s.services.logs("tracker").count("batch failed, retrying")
