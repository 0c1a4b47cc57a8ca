"""How the console's pages show what several of them show: a shipment's timeline in the
carrier's time zone, and a table as a CSV download (safe to open in a spreadsheet)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from babel.dates import format_datetime

from shipnotify.console.resources import ZONE
from shipnotify.i18n.labels import FAILURE_LABELS, STATUS_LABELS
from shipnotify.model.codec import TimelineEntry

MINUTES, SECONDS = "d MMM y, HH:mm", "d MMM y, HH:mm:ss"


def when(request: web.Request, ms: int, lang: str, pattern: str = MINUTES) -> str:
    at = datetime.fromtimestamp(ms / 1000, UTC).astimezone(request.app[ZONE])
    return format_datetime(at, pattern, locale=lang)


def timeline(
    request: web.Request, lang: str, entries: Iterable[TimelineEntry], pattern: str = MINUTES
) -> list[dict[str, Any]]:
    """A shipment's steps as templates/timeline.html shows them."""
    zone = request.app[ZONE]
    return [
        {
            "status": STATUS_LABELS[lang][entry.status],
            "at": when(request, entry.occurred_at_ms, lang, pattern),
            "iso": datetime.fromtimestamp(entry.occurred_at_ms / 1000, zone).isoformat(),
            "depot": (entry.location or {}).get("depot", ""),
            "failure": FAILURE_LABELS[lang][entry.failure] if entry.failure else "",
        }
        for entry in entries
    ]


def csv_cell(cell: str) -> str:
    # a spreadsheet runs a cell that starts with one of these as a formula (CSV injection)
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def csv_headers(filename: str) -> dict[str, str]:
    return {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }


def csv_response(body: str, filename: str) -> web.Response:
    return web.Response(body=body.encode(), headers=csv_headers(filename))
