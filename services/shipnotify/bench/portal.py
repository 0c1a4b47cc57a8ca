"""The portal's shipments page under a year of shipments: `shipments` of them over 365 days,
owned by ACCOUNTS accounts (one in ten the carrier's own), each in its lists as the tracker
keeps them (store/shipment_list.py) with a state to show, written straight into Redis; then
the shipments page asked over HTTP, each timed from request to last byte: every account's
newest, one account's delivered ones of a month, a page half a year back, a search, and the
CSV of one account's delivered ones of a month."""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from shipnotify.bench.console import signed_in
from shipnotify.config import Settings
from shipnotify.devstack import processes
from shipnotify.model.status import Status
from shipnotify.store.keys import shipments_key, state_key, tracking_key
from shipnotify.store.shipment_list import Listing, moves

ACCOUNTS = 20
_CHUNK = 10_000
# where a year's shipments stand: most delivered, some on the way or back
_STATUSES = (
    (Status.DELIVERED, 0.86),
    (Status.IN_TRANSIT, 0.04),
    (Status.OUT_FOR_DELIVERY, 0.03),
    (Status.RETURNED_TO_SENDER, 0.03),
    (Status.CANCELLED, 0.02),
    (Status.REGISTERED, 0.02),
)


def account(n: int) -> str:
    return f"acct_bench{n:02d}"


async def year_of_shipments(redis: Redis, *, shipments: int, now_ms: int) -> None:
    """Lists `shipments` shipments registered over the year to `now_ms`, with their states."""
    rng = random.Random(2)
    names, weights = zip(*_STATUSES, strict=True)
    year_ms = 365 * 86_400_000
    for start in range(0, shipments, _CHUNK):
        added: dict[str, dict[str, int]] = {}
        pipe = redis.pipeline(transaction=False)
        for n in range(start, min(shipments, start + _CHUNK)):
            sid = f"bench-{n:07d}"
            at = now_ms - year_ms + n * year_ms // shipments
            owner = "" if n % 10 == 0 else account(rng.randrange(ACCOUNTS))
            status = rng.choices(names, weights)[0]
            listing = Listing(owner, at, status.value)
            for move in moves(None, listing):
                added.setdefault(move.key, {})[sid] = move.score
            pipe.hset(
                state_key(sid),
                mapping={
                    "s": status.value,
                    "o": at + 86_400_000,
                    "t": f"T{n:07d}",
                    "l": listing.encode(),
                },
            )
            pipe.set(tracking_key(f"T{n:07d}"), sid)
        for key, scored in added.items():
            pipe.zadd(key, scored)
        await pipe.execute()


async def page_times(
    settings: Settings,
    redis: Redis,
    zone: ZoneInfo,
    *,
    shipments: int,
    now_ms: int,
    requests: int,
) -> dict[str, dict[str, float]]:
    """Each view `requests` times: ms percentiles of each (the lists kept a year:
    SHIPNOTIFY_RETENTION_DAYS=365)."""
    found = await views(redis, zone, shipments=shipments, now_ms=now_ms)
    timed: dict[str, dict[str, float]] = {}
    async with signed_in(settings.with_(retention_days=365), redis) as http:
        for name, path in found.items():
            took, rows = [], 0
            for _ in range(requests + 1):
                t0 = time.perf_counter()
                async with http.get(path) as resp:
                    body = await resp.text()
                    if resp.status != 200:
                        raise RuntimeError(f"the console answered {resp.status} on {path}")
                took.append((time.perf_counter() - t0) * 1000)
                rows = (
                    body.count("\n") - 1
                    if name.startswith("csv")
                    else body.count('data-testid="shipment-row"')
                )
            took = took[1:]  # the first warms the templates' cache
            timed[name] = {
                "p50": statistics.median(took),
                "p95": statistics.quantiles(took, n=20)[-1] if len(took) >= 2 else took[0],
                "rows": rows,
            }
    return timed


async def views(redis: Redis, zone: ZoneInfo, *, shipments: int, now_ms: int) -> dict[str, str]:
    """The shipments page's views of the lists `year_of_shipments` wrote: every account's
    newest, one account's delivered ones of a month, a page half a year back (of all its
    shipments and of its delivered ones), a search, a month's CSV."""
    today = datetime.fromtimestamp(now_ms / 1000, UTC).astimezone(zone).date()
    month = f"from={(today - timedelta(60)).isoformat()}&to={(today - timedelta(31)).isoformat()}"
    half_year = now_ms - 182 * 86_400_000
    key = shipments_key(account(3), "delivered")
    middle: list[tuple[bytes, float]] = await redis.zrange(  # type: ignore[assignment]
        key, half_year, 0, desc=True, byscore=True, offset=0, num=1, withscores=True
    )
    after = f"{int(middle[0][1])}~{middle[0][0].decode()}"
    csv = f"/console/shipments?lang=en&account={account(3)}&status=delivered&{month}&csv=1"
    return {
        "newest": "/console/shipments?lang=en",
        "status_month": f"/console/shipments?lang=en&account={account(3)}&status=delivered&{month}",
        "half_year_back": f"/console/shipments?lang=en&account={account(3)}&after={after}",
        "status_half_year_back": f"/console/shipments?lang=en&account={account(3)}"
        f"&status=delivered&after={after}",
        "search": f"/console/shipments?lang=en&q=T{shipments // 2 + 1:07d}",
        "csv_month": csv,
    }


async def main(shipments: int = 1_000_000, requests: int = 20) -> None:
    """By hand: `python -m shipnotify.bench.portal` on a fresh redis-server."""
    import tempfile
    from pathlib import Path

    zone = ZoneInfo("Europe/Chisinau")
    now_ms = int(time.time() * 1000)
    with processes.redis_server(Path(tempfile.mkdtemp())) as server:
        settings = Settings(redis_url=server.address, api_keys=("bench-key",), time_zone=zone.key)
        redis = Redis.from_url(server.address)
        t0 = time.perf_counter()
        await year_of_shipments(redis, shipments=shipments, now_ms=now_ms)
        print(f"{shipments:,} shipments listed in {time.perf_counter() - t0:.0f} s")
        print(f"used_memory {(await redis.info('memory'))['used_memory_human']}")
        for name, t in (
            await page_times(
                settings, redis, zone, shipments=shipments, now_ms=now_ms, requests=requests
            )
        ).items():
            print(f"{name}: p50 {t['p50']:.1f} ms, p95 {t['p95']:.1f} ms, {t['rows']} rows")
        await redis.aclose()


if __name__ == "__main__":
    import asyncio
    import sys

    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000))
