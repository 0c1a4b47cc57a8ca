"""The shipments page's filters from its query: the account (the operator's choice, "" every
account's; a team member's own, whatever is asked), a status, the days of registration (from,
to: ISO dates in the carrier's time zone, both in; by default every day the lists keep), a
search (a tracking id or a shipment id, exactly) and the page (`after`: the last row shown).
Each problem is named by its field (a message id) and the filter left out. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shipnotify.i18n import mark
from shipnotify.model.status import Status
from shipnotify.store.shipment_list import Cursor

_ACCOUNT = re.compile(r"[A-Za-z0-9_-]{1,64}")
# a shipment id as ingest takes it, or a tracking id (which is shorter and of fewer letters)
_SEARCH = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_AFTER = re.compile(r"(\d{1,15})~([A-Za-z0-9._:-]{1,128})")
STATUSES = tuple(s.value for s in Status)
PROBLEMS = (
    mark("console.shipments.problem.status"),
    mark("console.shipments.problem.search"),
    mark("console.shipments.problem.after"),
)


@dataclass(frozen=True)
class ShipmentFilters:
    account: str  # "": every account's (the operator only)
    status: str  # "": any
    first: date | None  # registered from this day (None: as far back as kept)
    last: date | None  # to this one, in
    search: str  # "": none
    after: Cursor | None
    problems: Mapping[str, str] = field(default_factory=dict)  # field -> message id

    def bounds(self, zone: ZoneInfo) -> tuple[int, int]:
        """The registration times (ms, both in) of the days chosen, in the carrier's zone."""
        low = _midnight(self.first, zone) if self.first else 0
        high = _midnight(self.last + timedelta(1), zone) - 1 if self.last else 2**53
        return low, high

    def query(self) -> dict[str, str]:
        """The filters as a link's query (not the page)."""
        return {
            "account": self.account,
            "status": self.status,
            "from": self.first.isoformat() if self.first else "",
            "to": self.last.isoformat() if self.last else "",
            "q": self.search,
        }


def shipment_filters(query: Mapping[str, str], *, own_account: str) -> ShipmentFilters:
    problems: dict[str, str] = {}
    account = own_account or query.get("account", "").strip()
    if account and not _ACCOUNT.fullmatch(account):
        problems["account"] = mark("console.bad_account")
        account = own_account
    status = query.get("status", "").strip()
    if status and status not in STATUSES:
        problems["status"] = "console.shipments.problem.status"
        status = ""
    first = _day(query, "from", problems)
    last = _day(query, "to", problems)
    if first and last and last < first:
        problems["to"] = mark("console.to_before_from")
        first = last = None
    search = query.get("q", "").strip()
    if search and not _SEARCH.fullmatch(search):
        problems["q"] = "console.shipments.problem.search"
        search = ""
    after: Cursor | None = None
    if raw := query.get("after", ""):
        found = _AFTER.fullmatch(raw)
        if found:
            after = (int(found.group(1)), found.group(2))
        else:
            problems["after"] = "console.shipments.problem.after"
    return ShipmentFilters(account, status, first, last, search, after, problems)


def cursor_text(cursor: Cursor) -> str:
    """A page's `after`: the last row's registration time and shipment id."""
    return f"{cursor[0]}~{cursor[1]}"


def _day(query: Mapping[str, str], name: str, problems: dict[str, str]) -> date | None:
    raw = query.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        problems[name] = mark("console.bad_date")
        return None


def _midnight(day: date, zone: ZoneInfo) -> int:
    return int(datetime.combine(day, time(), zone).timestamp() * 1000)
