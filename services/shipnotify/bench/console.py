"""The console's figure of the benchmark: a year of per-day satisfaction counts, as the
tracker's feedback consumer would have folded them for `shipments` shipments (three in four
asked, two in five of those answering, by 20 depots' 400 couriers at every hour) and the
overview's shipment and notice counts as the tracker and notifier fold them, written
straight into Redis, then the overview and the satisfaction page (the heatmap, the cuts, the
pain map, the trend) asked for the whole year over HTTP, each timed from request to last byte:
the first request apart (it reads every settled month, which later ones find summed:
store/survey_days.py `Settled`), then the percentiles of the others. `timed` times any of
the console's pages so (bench/console_lists.py writes the lists')."""

from __future__ import annotations

import random
import statistics
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
from redis.asyncio import Redis

from shipnotify.config import Settings
from shipnotify.console import app as console_app
from shipnotify.devstack import processes
from shipnotify.model import day_figures as figures
from shipnotify.model.survey_days import CUTS, field
from shipnotify.store import intact
from shipnotify.store.keys import survey_cut_key
from shipnotify.v1 import survey_pb2 as spb
from shipnotify.web.serving import serve

CSAT = spb.SCALE_CSAT
DEPOTS, COURIERS = 20, 400
_SCORES = ((5, 0.5), (4, 0.25), (3, 0.1), (2, 0.08), (1, 0.07))


async def year_of_operations(redis: Redis, *, shipments: int, today: date) -> None:
    """Writes 365 days of the overview's shipment and notice counts (model/day_figures.py):
    each day a 365th of the shipments registered and delivered, three in four covered, an
    SMS and an email each sent (one in fifty failed), their latencies and receipts."""
    rng = random.Random(2)
    per_day = round(shipments / 365)
    months: dict[tuple[str, str], Counter[str]] = {}
    for back in range(365):
        day = today - timedelta(back)
        counts = {
            figures.SHIPMENTS: Counter(
                {
                    figures.REGISTERED: per_day,
                    figures.DELIVERED: per_day,
                    figures.COVERED: round(per_day * 0.75),
                }
            ),
            figures.NOTICES: Counter(),
        }
        notices = counts[figures.NOTICES]
        for channel in ("sms", "email"):
            failed = round(per_day * 2 * 0.02)
            notices[f"{channel}|{figures.SENT}"] = per_day * 2 - failed
            notices[f"{channel}|{figures.FAILED}"] = failed
        for _ in range(200):  # the latencies' shape, scaled to the notices sent
            notices[f"{figures.LATENCY}{figures.bucket(round(rng.lognormvariate(6, 0.6)))}"] += (
                per_day * 4 // 200
            )
        notices[figures.RECEIPTS] = per_day * 2
        notices[figures.RECEIPTS_DELIVERED] = per_day * 2 - failed
        pipe = redis.pipeline(transaction=False)
        for cut, fields in counts.items():
            pipe.hset(survey_cut_key(day.isoformat(), cut), mapping=fields)  # type: ignore[arg-type]
            months.setdefault((day.isoformat()[:7], cut), Counter()).update(fields)
        await pipe.execute()
    pipe = redis.pipeline(transaction=False)
    for (month, cut), fields in months.items():
        pipe.hset(survey_cut_key(month, cut), mapping=fields)  # type: ignore[arg-type]
    await pipe.execute()


async def year_of_answers(redis: Redis, zone: ZoneInfo, *, shipments: int, today: date) -> int:
    """Writes 365 days of counts; returns how many answers they hold."""
    rng = random.Random(1)
    answers = 0
    months: dict[tuple[str, str], Counter[str]] = {}
    for back in range(365):
        day = today - timedelta(back)
        sent = round(shipments / 365 * 0.75)
        counts = _day(rng, day, sent)
        answers += sum(v for k, v in counts["all"].items() if k.split("|")[2].isdigit())
        pipe = redis.pipeline(transaction=False)
        for cut, fields in counts.items():
            if not fields:
                continue
            pipe.hset(survey_cut_key(day.isoformat(), cut), mapping=fields)  # type: ignore[arg-type]
            months.setdefault((day.isoformat()[:7], cut), Counter()).update(fields)
        await pipe.execute()
    pipe = redis.pipeline(transaction=False)
    for (month, cut), fields in months.items():  # each month's sum, as the script keeps it
        pipe.hset(survey_cut_key(month, cut), mapping=fields)  # type: ignore[arg-type]
    await pipe.execute()
    return answers


def _day(rng: random.Random, day: date, sent: int) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {cut: Counter() for cut in CUTS}
    scores, weights = zip(*_SCORES, strict=True)
    for _ in range(sent):
        courier = rng.randrange(COURIERS)
        cells = {
            "all": "*",
            "depot": f"depot-{courier % DEPOTS}",
            "courier": f"c-{courier}",
            "channel": rng.choice(("sms", "email")),
            "party": rng.choice(("sender", "recipient")),
            "hour": f"{day.weekday()}:{min(20, max(8, round(rng.gauss(14, 3.5))))}",
        }
        answered = rng.random() < 0.4
        score = rng.choices(scores, weights)[0] if answered else 0
        for cut, cell in cells.items():
            counts[cut][field(CSAT, cell, "s")] += 1
            if answered:
                counts[cut][field(CSAT, cell, str(score))] += 1
                if score <= 2:
                    counts[cut][field(CSAT, cell, "u")] += 1
        if answered and score <= 2:
            counts["reason"][field(CSAT, str(rng.randint(1, 6)), "u")] += 1
    return counts


@asynccontextmanager
async def signed_in(settings: Settings, redis: Redis) -> AsyncIterator[aiohttp.ClientSession]:
    """The console served on a free port and a client signed in to it as the operator."""
    port = processes.free_port()
    app = console_app.init_app(settings, redis=redis)
    jar = aiohttp.CookieJar(unsafe=True)  # 127.0.0.1: cookies of an address
    async with (
        serve(app, "127.0.0.1", port, shutdown_timeout_s=1),
        aiohttp.ClientSession(f"http://127.0.0.1:{port}", cookie_jar=jar) as http,
    ):
        form = await (await http.get("/console/sign-in")).text()
        token = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        await http.post("/console/sign-in", data={"key": settings.api_keys[0], "csrf": token})
        yield http


async def page_times(
    settings: Settings, redis: Redis, *, today: date, requests: int
) -> dict[str, dict[str, float]]:
    """Each page for the whole year, `requests` times: ms percentiles of each."""
    year = f"from={(today - timedelta(364)).isoformat()}&to={today.isoformat()}"
    pages = {
        "overview": f"/console?lang=en&{year}",
        "satisfaction": f"/console/satisfaction?lang=en&scale=csat&{year}",
    }
    return await timed(settings, redis, pages, requests=requests)


async def timed(
    settings: Settings, redis: Redis, pages: Mapping[str, str], *, requests: int
) -> dict[str, dict[str, float]]:
    """Each page (name -> path) asked `requests` + 1 times of a console started for them,
    each timed from request to last byte: the first apart (it reads what no request has
    kept yet: settled sums), the percentiles of the others, in ms."""
    found: dict[str, dict[str, float]] = {}
    async with signed_in(settings, redis) as http:
        for name, path in pages.items():
            took = []
            for _ in range(requests + 1):
                t0 = time.perf_counter()
                async with http.get(path, allow_redirects=False) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"the console answered {resp.status} on {path}")
                took.append((time.perf_counter() - t0) * 1000)
            first, took = took[0], took[1:]
            found[name] = {
                "first": first,
                "p50": statistics.median(took),
                "p95": statistics.quantiles(took, n=20)[-1] if len(took) >= 2 else took[0],
            }
    return found


async def main(shipments: int = 1_000_000, requests: int = 20) -> None:
    """By hand: `python -m shipnotify.bench.console [shipments]` on a fresh redis-server of
    its own: the year written, then the overview and the satisfaction page timed (step 6 of
    `shipnotify bench` without the rest of the stack)."""
    import tempfile
    from pathlib import Path

    zone = ZoneInfo("Europe/Chisinau")
    today = datetime.now(zone).date()
    with processes.redis_server(Path(tempfile.mkdtemp())) as server:
        settings = Settings(redis_url=server.address, api_keys=("bench-key",), time_zone=zone.key)
        redis = Redis.from_url(server.address)
        await intact.mark(redis)  # as the consumers' first start does: sums are kept
        t0 = time.perf_counter()
        answers = await year_of_answers(redis, zone, shipments=shipments, today=today)
        await year_of_operations(redis, shipments=shipments, today=today)
        took = time.perf_counter() - t0
        print(f"{shipments:,} shipments, {answers:,} answers written in {took:.0f} s")
        found = await page_times(settings, redis, today=today, requests=requests)
        for name, t in found.items():
            p50, p95, first = t["p50"], t["p95"], t["first"]
            print(f"{name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms, the first {first:.1f} ms")
        await redis.aclose()


if __name__ == "__main__":
    import asyncio
    import sys

    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000))
