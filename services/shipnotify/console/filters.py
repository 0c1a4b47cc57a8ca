"""A console view's filters from its query: the period (from, to: ISO dates, both days in,
by default the 30 days to today in the carrier's time zone, at most as long as the figures
are kept), the account (the operator's choice; a team member's own, whatever is asked) and
the scale. Each problem is named by its field, the view then shown with the defaults. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from shipnotify.console.figures import Period
from shipnotify.i18n import mark
from shipnotify.model.survey import SCALE_NAMES
from shipnotify.v1 import survey_pb2 as spb

DEFAULT_DAYS = 30
_ACCOUNT = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class Filters:
    period: Period
    account: str  # "": every account's (the operator only)
    scale: int
    problems: Mapping[str, str] = field(default_factory=dict)  # field -> message id

    @property
    def scale_name(self) -> str:
        return next(n for n, s in SCALE_NAMES.items() if s == self.scale)


def filters(query: Mapping[str, str], *, today: date, keep_days: int, own_account: str) -> Filters:
    problems: dict[str, str] = {}
    default = Period(today - timedelta(DEFAULT_DAYS - 1), today)
    first = _day(query, "from", default.first, problems)
    last = _day(query, "to", default.last, problems)
    period = Period(first, last)
    if not problems:
        if last < first:
            problems["to"] = mark("console.to_before_from")
        elif period.days > keep_days:
            problems["from"] = mark("console.too_long")
        elif last > today + timedelta(1):
            problems["to"] = mark("console.in_future")
    if problems:
        period = default
    account = own_account or query.get("account", "").strip()
    if account and not _ACCOUNT.fullmatch(account):
        problems["account"] = mark("console.bad_account")
        account = own_account
    scale = SCALE_NAMES.get(query.get("scale", "csat"))
    if scale is None:
        problems["scale"] = mark("console.bad_scale")
        scale = spb.SCALE_CSAT
    return Filters(period, account, scale, problems)


def _day(query: Mapping[str, str], name: str, default: date, problems: dict[str, str]) -> date:
    raw = query.get(name, "")
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        problems[name] = mark("console.bad_date")
        return default
