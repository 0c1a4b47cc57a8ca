"""The console's lists on a big history, written straight into Redis as the notifier and the
tracker keep them: a year of failed notices (the index of every account's and each account's,
and each notice's record beside its shipment's), one shipment with many notices, an
account's webhook endpoints with long delivery logs; then the pages that show them (each
page's path, for bench/console.py `timed`)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from shipnotify.bench import shipments
from shipnotify.config import Settings
from shipnotify.console.notices import MAX_PAGE, PAGE_ROWS
from shipnotify.model import webhooks as wh
from shipnotify.store.keys import (
    account_endpoints_key,
    account_key,
    endpoint_bodies_key,
    endpoint_log_key,
    endpoint_messages_key,
    failed_notices_key,
    notices_key,
    sending_key,
    state_key,
)
from shipnotify.store.notices import NoticeBook
from shipnotify.store.tracking import TrackingStore
from shipnotify.store.webhooks import LOG_ENTRIES
from shipnotify.v1 import accounts_pb2 as apb

ACCOUNTS = 20
HOOKS_ACCOUNT = "acct_benchhooks"
ENDPOINTS = 8
STEPS = shipments.MIN_EVENTS + 24  # the statuses of the shipment with many notices
_CHUNK = 5_000
_YEAR_MS = 365 * 86_400_000
# how notices fail: (channel, party, final state, error), as the notifier and hooks end them
_FAILURES = (
    ("sms", "recipient", "dead", "gave up after 5 attempts: 500"),
    ("sms", "recipient", "undelivered", "receipt 30003"),
    ("email", "sender", "failed", "550 5.1.1 mailbox unavailable"),
)


def account(n: int) -> str:
    return f"acct_benchn{n:02d}"


async def year_of_failures(
    redis: Redis, settings: Settings, *, failures: int, now_ms: int
) -> dict[str, str]:
    """`failures` notices that failed over the year to `now_ms`, each listed for every
    account and its own (one in ten the carrier's), each with its record; and a shipment
    walked through STEPS statuses, an SMS and an email each. The pages."""
    records = await _failure_records(redis, settings)
    rng = random.Random(3)
    for start in range(0, failures, _CHUNK):
        pipe = redis.pipeline(transaction=False)
        listed: dict[str, dict[str, int]] = {}
        for n in range(start, min(failures, start + _CHUNK)):
            sid, nid = f"bench-failed-{n:07d}", str(uuid.UUID(int=rng.getrandbits(128)))
            at = now_ms - _YEAR_MS + (n + 1) * _YEAR_MS // failures
            pipe.hset(notices_key(sid), nid, rng.choice(records))
            member = f"{sid} {nid}"
            listed.setdefault(failed_notices_key(), {})[member] = at
            if n % 10:
                listed.setdefault(failed_notices_key(account(n % ACCOUNTS)), {})[member] = at
        for key, scored in listed.items():
            pipe.zadd(key, scored)
        await pipe.execute()
    one = await _shipment_with_notices(redis, settings, steps=STEPS)
    deep = min(MAX_PAGE, max(1, failures // PAGE_ROWS))
    return {
        "failed_notices": "/console/notices?lang=en",
        "failed_notices_deep": f"/console/notices?lang=en&page={deep}",
        "failed_notices_account": f"/console/notices?lang=en&account={account(3)}",
        "shipment_notices": f"/console/notices?lang=en&shipment={one}",
    }


async def _failure_records(redis: Redis, settings: Settings) -> list[str]:
    """A failed notice's record of each kind, made by the notices' own scripts on a shipment
    of its own (taken away after), to be copied."""
    book = NoticeBook(redis, settings.notifications_topic)
    sid = f"bench-failure-kinds-{uuid.uuid4().hex[:8]}"
    nids = []
    for channel, party, state, error in _FAILURES:
        nid = str(uuid.uuid4())
        meta = {"c": channel, "p": party, "st": "out_for_delivery", "ev": str(uuid.uuid4())}
        await book.claim(sid, nid, meta, 5.0, planned_ms=0)
        await book.update(sid, nid, state, {"e": error, "n": 1})
        nids.append(nid)
    kept: dict[Any, Any] = await redis.hgetall(notices_key(sid))
    await redis.delete(notices_key(sid), sending_key(sid), state_key(sid))
    return [kept[nid.encode()].decode() for nid in nids]


async def _shipment_with_notices(redis: Redis, settings: Settings, *, steps: int) -> str:
    """A shipment walked through `steps` statuses (hub scans among them), as the tracker
    keeps it, each step with an SMS to the recipient and an email to the sender, as the
    notifier ends them (one in five SMS undelivered)."""
    [parcel] = shipments.parcels(uuid.uuid4().hex[:8], 1, steps)
    await TrackingStore(redis, retention_days=settings.retention_days).apply(
        list(shipments.events(parcel, settings.tracking_id_secret))
    )
    book = NoticeBook(redis, settings.notifications_topic)
    for step, (status, event_id) in enumerate(zip(parcel.walk, parcel.event_ids, strict=True)):
        for channel, party in (("sms", "recipient"), ("email", "sender")):
            nid = str(uuid.uuid4())
            meta = {"c": channel, "p": party, "st": status.value, "ev": event_id}
            await book.claim(parcel.shipment_id, nid, meta, 5.0, planned_ms=0)
            failed = channel == "sms" and step % 5 == 4
            await book.update(parcel.shipment_id, nid, "undelivered" if failed else "sent")
    return parcel.shipment_id


async def endpoints_with_tries(redis: Redis, *, tries: int, now_ms: int) -> dict[str, str]:
    """An account with ENDPOINTS webhook endpoints, the first with `tries` tries in its
    delivery log (the log keeps LOG_ENTRIES), the others a tenth as many, a try a minute, one
    in ten answered 500 and tried again, and their messages kept; the pages."""
    rng = random.Random(4)
    await redis.hset(account_key(HOOKS_ACCOUNT), "name", "Bench Shop")
    first = ""
    for e in range(ENDPOINTS):
        endpoint = apb.Endpoint(
            endpoint_id=f"ep_bench{e:02d}", url=f"https://shop.example/hooks/{e}"
        )
        endpoint.created_at.FromMilliseconds(now_ms - _YEAR_MS)
        await redis.hset(
            account_endpoints_key(HOOKS_ACCOUNT),
            endpoint.endpoint_id,
            endpoint.SerializeToString(),
        )
        first = first or endpoint.endpoint_id
        logged = min(LOG_ENTRIES, tries if e == 0 else max(1, tries // 10))
        for start in range(0, logged, _CHUNK):
            pipe = redis.pipeline(transaction=False)
            n = start
            while n < min(logged, start + _CHUNK):
                at_ms = now_ms - (logged - n) * 60_000
                message = wh.make(
                    wh.STATUS_CHANGED,
                    str(uuid.UUID(int=rng.getrandbits(128))),
                    account_id=HOOKS_ACCOUNT,
                    shipment_id=f"bench-hooked-{e}-{n:06d}",
                    tracking_id=f"T{e:02d}{n:06d}",
                    version=1,
                    at=datetime.fromtimestamp(at_ms / 1000, UTC),
                    data={"status": "in_transit"},
                )
                [job] = wh.fan_out(message, [endpoint])
                mid = message.message_id
                pipe.zadd(endpoint_messages_key(endpoint.endpoint_id), {mid: at_ms})
                pipe.hset(endpoint_bodies_key(endpoint.endpoint_id), mid, job.SerializeToString())
                answers = [500, 200] if rng.random() < 0.1 else [200]
                for attempt, status in enumerate(answers, 1):
                    fields = {  # as WebhookStore.tried logs a try
                        "msg": mid,
                        "n": job.notification_id,
                        "try": attempt,
                        "status": status,
                        "ms": rng.randint(40, 400),
                        "error": "" if status == 200 else "HTTP 500",
                        "at": at_ms + attempt * 1000,
                    }
                    pipe.xadd(
                        endpoint_log_key(endpoint.endpoint_id),
                        fields,  # type: ignore[arg-type]
                        maxlen=LOG_ENTRIES,
                        approximate=True,
                    )
                    n += 1
            await pipe.execute()
    log = endpoint_log_key(first)
    middle: list[tuple[bytes, Any]] = await redis.xrevrange(  # type: ignore[assignment]
        log, "+", "-", count=max(1, min(tries, LOG_ENTRIES) // 2)
    )
    before = middle[-1][0].decode()
    page = f"/console/webhooks/{first}?lang=en&account={HOOKS_ACCOUNT}"
    return {
        "webhooks": f"/console/webhooks?lang=en&account={HOOKS_ACCOUNT}",
        "webhook_log": page,
        "webhook_log_older": f"{page}&before={before}",
    }
