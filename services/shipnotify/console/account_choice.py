"""Whose webhooks and team a page shows: a team member's own account, whatever the address
asks; the operator's choice (`?account=`, or a form's hidden field), else a list of the
accounts to choose from, 50 a page, by name. And the wait, after a change is appended to
the accounts topic, until the tracker's accounts consumer has applied it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from redis.asyncio import Redis

from shipnotify import backoff, logs
from shipnotify.console import view
from shipnotify.console.sessions import Viewer
from shipnotify.store import UNREACHABLE
from shipnotify.store import accounts as stored

log = logs.get(__name__)

ACCOUNT = re.compile(r"[A-Za-z0-9_-]{1,64}")
PAGE_ROWS = 50
APPLIED_WAIT_S = 3.0


def account_of(viewer: Viewer, asked: Mapping[str, str]) -> str:
    """The account a page is about ("": the operator has not chosen, or chose no id)."""
    if viewer.account:
        return viewer.account
    chosen = asked.get("account", "").strip()
    return chosen if ACCOUNT.fullmatch(chosen) else ""


async def choices(request: web.Request, redis: Redis, path: str, lang: str) -> dict[str, Any]:
    """The operator's list of accounts, a page of them (`?page=`, from 1), each a link to
    `path` with the account chosen."""
    found = sorted((await stored.accounts(redis)).items(), key=lambda a: (a[1].lower(), a[0]))
    raw = request.query.get("page", "1")
    page = int(raw) if raw.isdigit() and 0 < int(raw) < 10_000 else 1
    shown = found[(page - 1) * PAGE_ROWS : page * PAGE_ROWS]
    more = len(found) > page * PAGE_ROWS
    return {
        "accounts": [
            {"id": a, "name": n, "link": view.link(path, lang, account=a)} for a, n in shown
        ],
        "next_page": view.link(path, lang, page=str(page + 1)) if more else "",
    }


async def until_applied(redis: Redis, account_id: str, event_id: str) -> bool:
    """Whether the tracker applied the event within APPLIED_WAIT_S (a few ms, as a rule);
    it is durable either way."""
    try:
        async with asyncio.timeout(APPLIED_WAIT_S):
            async for _ in backoff.attempts(first_s=0.01, cap_s=0.2):
                if await stored.applied(redis, account_id, event_id):
                    return True
    except (*UNREACHABLE, TimeoutError):
        pass
    log.warning("account change not yet applied", event_id=event_id)
    return False
