"""The business customers' shipments (`/console/shipments`): an account's shipments, newest
registered first, 50 a page, by status, days of registration or a search (a tracking id or a
shipment id, exactly), the whole filtered list as CSV (`?csv=1`, streamed, at most
CSV_ROWS rows); and a shipment's page (`/console/shipments/{id}`): its timeline, its parties'
channels (never an address or a name), its owner, and a link to its notices. A team member
sees their account's shipments alone, whatever the address asks for; another's is a 404. The
operator sees every account's, or the one chosen. Read from the lists the tracker keeps
(store/shipment_list.py): a page reads its rows and no more."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from shipnotify.console import pages, shown, view
from shipnotify.console.resources import REDIS, SETTINGS, TRACKING, ZONE
from shipnotify.console.sessions import Viewer
from shipnotify.console.shipment_filters import (
    STATUSES,
    ShipmentFilters,
    cursor_text,
    shipment_filters,
)
from shipnotify.i18n import mark, text
from shipnotify.i18n.labels import STATUS_LABELS
from shipnotify.model.status import Status
from shipnotify.store import accounts
from shipnotify.store.keys import ACCOUNTS, parties_key, tracking_key
from shipnotify.store.replies import text as reply_text
from shipnotify.store.shipment_list import Listed, ShipmentList
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.web import Route

SHIPMENTS = "/console/shipments"
SHIPMENT_PATH = SHIPMENTS + "/{shipment_id}"
NOTICES = "/console/notices"  # the notices page (its own section): ?shipment=<id>
PAGE_ROWS = 50
CSV_ROWS = 100_000  # the most a CSV holds: a big account's busiest quarter
_CSV_READ = 500  # rows a round trip while a CSV streams
_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_CHANNELS = {pb.CHANNEL_SMS: "sms", pb.CHANNEL_EMAIL: "email", pb.CHANNEL_PUSH: "push"}

# the texts named by a part of their id (the templates make the rest)
NAMED = (
    mark("console.section.shipments"),
    mark("console.shipments.channel.sms"),
    mark("console.shipments.channel.email"),
    mark("console.shipments.channel.push"),
    mark("console.party.sender"),
    mark("console.party.recipient"),
)

_PAGE: dict[int, tuple[str, type[BaseModel] | None]] = {
    200: ("the page (HTML), or with csv=1 the whole filtered list as CSV", None),
    303: ("not signed in: to the sign-in page", None),
}
_QUERY = [
    {"name": name, "in": "query", "required": False, "schema": schema, "description": d}
    for name, schema, d in (
        ("account", {"type": "string"}, "the operator's choice of one account; a member's own"),
        ("status", {"type": "string", "enum": list(STATUSES)}, "one status's shipments"),
        ("from", {"type": "string"}, "registered on this day or later (YYYY-MM-DD)"),
        ("to", {"type": "string"}, "registered on this day or before (YYYY-MM-DD)"),
        ("q", {"type": "string"}, "a tracking id or a shipment id, exactly"),
        ("after", {"type": "string"}, "the next page: the previous page's link gives it"),
        ("csv", {"type": "string", "enum": ["1"]}, "the whole filtered list as CSV"),
        ("lang", {"type": "string"}, "en, ru or ro; by default the browser's"),
    )
]


async def shipment_list(request: web.Request) -> web.StreamResponse:
    viewer = await view.viewer(request)
    lang = view.language(request)
    chosen = shipment_filters(request.query, own_account=viewer.account)
    listed = _list(request)
    if request.query.get("csv"):
        return await _csv(request, listed, chosen)
    rows, after = await _found(request, listed, chosen, limit=PAGE_ROWS)
    names = await _names(request, viewer, rows)
    query = chosen.query()
    return view.render(
        request,
        "shipments.html",
        lang,
        **await pages.nav(request, viewer, lang, "shipments", {}),
        action=request.path,
        chosen=chosen,
        statuses=[(s, STATUS_LABELS[lang][Status(s)]) for s in STATUSES],
        rows=[_row(request, r, lang, names) for r in rows],
        problems=chosen.problems,
        zone=request.app[ZONE].key,
        csv=view.link(SHIPMENTS, lang, **query, csv="1"),
        next=view.link(SHIPMENTS, lang, **query, after=cursor_text(after)) if after else "",
        first_page=view.link(SHIPMENTS, lang, **query) if chosen.after else "",
    )


async def shipment_page(request: web.Request) -> web.Response:
    viewer = await view.viewer(request)
    lang = view.language(request)
    shipment_id = request.match_info["shipment_id"]
    if not _ID.fullmatch(shipment_id):
        raise web.HTTPNotFound(text="no such shipment", content_type="text/plain")
    redis = request.app[REDIS]
    owner, shipment, listing, parties = await asyncio.gather(
        accounts.owner(redis, shipment_id),
        request.app[TRACKING].shipment(shipment_id),
        _list(request).listing(shipment_id),
        redis.get(parties_key(shipment_id)),
    )
    if shipment is None or (not viewer.operator and owner != viewer.account):
        raise web.HTTPNotFound(text="no such shipment", content_type="text/plain")
    name = reply_text(await redis.hget(ACCOUNTS, owner) or b"") if owner else ""
    zone = request.app[ZONE]
    timeline = shown.timeline(request, lang, shipment.timeline)
    registered = pb.ShipmentRegistered.FromString(parties) if isinstance(parties, bytes) else None
    return view.render(
        request,
        "shipment.html",
        lang,
        **await pages.nav(request, viewer, lang, "shipments", {}),
        shipment_id=shipment_id,
        tracking_id=shipment.tracking_id,
        status=STATUS_LABELS[lang][shipment.status],
        status_code=shipment.status.value,
        status_at=shown.when(request, shipment.status_at_ms, lang),
        registered=shown.when(request, listing.registered_ms, lang) if listing else "",
        owner=owner,
        owner_name=name,
        depot=registered.depot if registered else "",
        parties=_parties(registered, lang),
        timeline=timeline,
        zone=zone.key,
        notices=view.link(NOTICES, lang, shipment=shipment_id),
        back=view.link(SHIPMENTS, lang),
    )


def _list(request: web.Request) -> ShipmentList:
    return ShipmentList(request.app[REDIS], keep_days=request.app[SETTINGS].retention_days)


async def _found(
    request: web.Request, listed: ShipmentList, chosen: ShipmentFilters, *, limit: int
) -> tuple[list[Listed], tuple[int, str] | None]:
    """A page of the chosen shipments, and the next page's cursor (None: no more)."""
    if chosen.search:
        return await _searched(request, listed, chosen), None
    low, high = chosen.bounds(request.app[ZONE])
    found, after = await listed.page(
        account=chosen.account,
        status=chosen.status,
        first_ms=low,
        last_ms=high,
        after=chosen.after,
        limit=limit,
    )
    return await listed.rows(found), after


async def _searched(
    request: web.Request, listed: ShipmentList, chosen: ShipmentFilters
) -> list[Listed]:
    """The one shipment a search names (by its tracking id, else its id), if it is listed
    and in the chosen account; the other filters do not apply to it."""
    by_tracking = await request.app[REDIS].get(tracking_key(chosen.search))
    candidates = dict.fromkeys(([reply_text(by_tracking)] if by_tracking else []) + [chosen.search])
    for sid in candidates:
        listing = await listed.listing(sid)
        if listing is None:
            continue
        [row] = await listed.rows([(sid, listing.registered_ms)])
        if row.status is None:
            continue
        # the owner key too: the one a shipment's page and its cases ask
        if not chosen.account or (
            row.account == chosen.account
            and await accounts.owner(request.app[REDIS], sid) == chosen.account
        ):
            return [row]
    return []


async def _names(request: web.Request, viewer: Viewer, rows: list[Listed]) -> dict[str, str]:
    """The accounts' names of the rows, for the operator (a member knows their own)."""
    owners = sorted({r.account for r in rows if r.account})
    if not viewer.operator or not owners:
        return {}
    found = await request.app[REDIS].hmget(ACCOUNTS, owners)
    return {a: reply_text(n) for a, n in zip(owners, found, strict=True) if n}


def _row(request: web.Request, r: Listed, lang: str, names: dict[str, str]) -> dict[str, Any]:
    return {
        "shipment_id": r.shipment_id,
        "tracking_id": r.tracking_id,
        "status": STATUS_LABELS[lang][r.status] if r.status else "",
        "status_code": r.status.value if r.status else "",
        "registered": shown.when(request, r.registered_ms, lang),
        "registered_iso": _iso(request, r.registered_ms),
        "updated": shown.when(request, r.status_at_ms, lang) if r.status_at_ms else "",
        "updated_iso": _iso(request, r.status_at_ms) if r.status_at_ms else "",
        "account": r.account,
        "account_name": names.get(r.account, ""),
        "link": view.link(SHIPMENT_PATH.format(shipment_id=r.shipment_id), lang),
        "notices": view.link(NOTICES, lang, shipment=r.shipment_id),
    }


def _parties(registered: pb.ShipmentRegistered | None, lang: str) -> list[dict[str, Any]]:
    """Each party's contacts by their channels and language: no name, no address."""
    if registered is None:
        return []
    out = []
    for role, party in (("sender", registered.sender), ("recipient", registered.recipient)):
        contacts = []
        for c in party.contacts:
            chosen = [_CHANNELS[ch] for ch in c.channels if ch in _CHANNELS]
            if not chosen:  # no preference: the channels its addresses allow
                chosen = [name for name, has in (("sms", c.phone), ("email", c.email)) if has]
            contacts.append(
                {
                    "channels": [text(lang, f"console.shipments.channel.{n}") for n in chosen],
                    "locale": c.locale,
                }
            )
        out.append({"role": text(lang, f"console.party.{role}"), "contacts": contacts})
    return out


async def _csv(
    request: web.Request, listed: ShipmentList, chosen: ShipmentFilters
) -> web.StreamResponse:
    """The whole filtered list, newest first, streamed a few hundred rows a round trip, at
    most CSV_ROWS; a last line says when it stopped there."""
    name = "-".join(p for p in ("shipments", chosen.account, chosen.status) if p)
    response = web.StreamResponse(headers=shown.csv_headers(f"{name}.csv"))
    await response.prepare(request)
    columns = ["shipment_id", "tracking_id", "status", "registered_at", "status_at", "account"]
    await response.write(_lines([columns]))
    written = 0
    after = chosen.after
    while written < CSV_ROWS:
        page = replace(chosen, after=after)
        rows, after = await _found(request, listed, page, limit=min(_CSV_READ, CSV_ROWS - written))
        await response.write(
            _lines(
                [
                    r.shipment_id,
                    r.tracking_id,
                    r.status.value if r.status else "",
                    _iso(request, r.registered_ms),
                    _iso(request, r.status_at_ms) if r.status_at_ms else "",
                    r.account,
                ]
                for r in rows
            )
        )
        written += len(rows)
        if after is None:
            break
    else:
        await response.write(_lines([[f"# stopped at {CSV_ROWS} rows: narrow the filters"]]))
    await response.write_eof()
    return response


def _lines(rows: Any) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([shown.csv_cell(str(cell)) for cell in row])
    return out.getvalue().encode()


def _iso(request: web.Request, ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(request.app[ZONE]).isoformat()


ROUTES = [
    Route(
        "GET",
        SHIPMENTS,
        shipment_list,
        "Console: an account's shipments, newest registered first, 50 a page (the operator:"
        " every account's or one's; `csv=1`: the whole filtered list as CSV)",
        _PAGE,
        parameters=_QUERY,
        tag="console",
    ),
    Route(
        "GET",
        SHIPMENT_PATH,
        shipment_page,
        "Console: a shipment, its timeline, its parties' channels and its owner",
        {**_PAGE, 404: ("no such shipment, or another account's", None)},
        tag="console",
    ),
]
