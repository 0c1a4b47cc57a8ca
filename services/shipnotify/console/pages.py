"""The console's two views of satisfaction: the overview (each scale's figure against the
period before, the surveys and their response rate) and the cuts (weekday x hour, depot,
courier, channel, party, the pain map, the daily trend), each chart beside its table and
each table also as CSV (`?csv=<table>`)."""

from __future__ import annotations

import asyncio
import csv
import functools
import io
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any, Literal, NamedTuple

from aiohttp import web
from babel.dates import get_day_names, get_month_names
from babel.numbers import get_decimal_symbol, get_group_symbol, get_minus_sign_symbol
from markupsafe import Markup

from shipnotify import logs
from shipnotify.console import charts, figures, operations, shown, view
from shipnotify.console.filters import Filters, filters
from shipnotify.console.resources import DAYS, FEEDBACK, FIGURES, SETTINGS, ZONE
from shipnotify.console.sessions import Viewer
from shipnotify.i18n import mark, text
from shipnotify.i18n.questions import REASON
from shipnotify.model.satisfaction import Figure
from shipnotify.model.survey import SCALE_NAMES
from shipnotify.store import UNREACHABLE

OVERVIEW, SATISFACTION, CASES = "/console", "/console/satisfaction", "/console/cases"
NOTICES = "/console/notices"
SECTIONS = (
    ("overview", OVERVIEW),
    ("satisfaction", SATISFACTION),
    ("cases", CASES),
    ("shipments", "/console/shipments"),  # console/shipments.py
    ("notices", NOTICES),
    ("webhooks", "/console/webhooks"),  # and the team (console/webhooks.py, team.py)
)
_FIGURES = frozenset({"overview", "satisfaction"})  # the sections that keep the period
CSV_TABLES = ("hour", *figures.TABLES, "reason", "trend")
# A chart's bars and a table's rows on the page: those below average first, then the lowest;
# the CSV has them all (a year of a big carrier's couriers is hundreds of rows).
CHART_ROWS, TABLE_ROWS = 25, 50

log = logs.get(__name__)
Fmt = Callable[[float], str]
_COUNT_TIMEOUT_S = 1.0
_REASONS: dict[int, str] = {int(r): t for r, t in REASON.items()}

# the texts named by a part of their id (the templates and _named make the rest)
NAMED = (
    mark("console.section.overview"),
    mark("console.section.satisfaction"),
    mark("console.section.cases"),
    mark("console.scale.csat"),
    mark("console.scale.nps"),
    mark("console.scale.ces"),
    mark("console.unit.csat"),
    mark("console.unit.nps"),
    mark("console.unit.ces"),
    mark("console.channel.sms"),
    mark("console.channel.email"),
    mark("console.channel.page"),
    mark("console.party.sender"),
    mark("console.party.recipient"),
    mark("console.table.hour"),
    mark("console.table.depot"),
    mark("console.table.courier"),
    mark("console.table.channel"),
    mark("console.table.party"),
    mark("console.table.reason"),
    mark("console.table.trend"),
    mark("console.column.hour"),
    mark("console.column.depot"),
    mark("console.column.courier"),
    mark("console.column.channel"),
    mark("console.column.party"),
    mark("console.column.reason"),
    mark("console.column.trend"),
    mark("console.unknown"),
)


async def overview(request: web.Request) -> web.Response:
    viewer = await view.viewer(request)
    chosen, lang = _filters(request, viewer), view.language(request)
    fmt = _fmt(lang)
    found = await figures.headlines(
        request.app[DAYS], chosen.period, list(SCALE_NAMES.values()), chosen.account
    )
    headlines = [
        {
            "name": name,
            "label": text(lang, f"console.scale.{name}"),
            "now": fmt(h.now.value) if h.now else "",
            "interval": _interval(h.now, fmt),
            "answers": h.now.n if h.now else 0,
            "before": fmt(h.before.value) if h.before else "",
            "change": _change(h.now, h.before, fmt),
            "trend": _direction(h.now, h.before),
            "sent": h.sent,
            "answered": h.answered,
            "response": fmt(h.response.value) + " %" if h.response else "",
        }
        for name, h in zip(SCALE_NAMES, found, strict=True)
    ]
    today = datetime.now(UTC).astimezone(request.app[ZONE]).date()
    ops = await operations.read(request.app[FIGURES], chosen.period, today, chosen.account)
    return view.render(
        request,
        "overview.html",
        lang,
        **await _frame(request, viewer, chosen, lang, "overview"),
        headlines=headlines,
        ops=operations.shown(ops, lang, fmt),
        satisfaction_link=view.link(SATISFACTION, lang, **_query(chosen)),
    )


async def satisfaction(request: web.Request) -> web.StreamResponse:
    viewer = await view.viewer(request)
    chosen, lang = _filters(request, viewer), view.language(request)
    wanted = request.query.get("csv")
    if wanted is not None and wanted not in CSV_TABLES:
        raise web.HTTPNotFound(text=f"no table {wanted[:32]!r}", content_type="text/plain")
    cuts = await figures.cuts(request.app[DAYS], chosen.period, chosen.scale, chosen.account)
    fmt = _fmt(lang)
    unit = text(lang, f"console.unit.{chosen.scale_name}")
    tables = {
        name: _table(request, chosen, lang, name, rows, unit, fmt)
        for name, rows in _named(cuts, lang)
    }
    if wanted is not None:
        return _csv(tables[wanted], chosen, wanted)
    weekdays = _weekdays("abbreviated", lang)
    scale_label = text(lang, f"console.scale.{chosen.scale_name}")
    for name in figures.TABLES:
        t = tables[name]
        t["chart"] = Markup(  # noqa: S704 (markup built of escaped text: charts.py)
            charts.bars(
                t["figures"][:CHART_ROWS], cuts.overall, title=t["title"], unit=unit, fmt=fmt
            )
        )
    tables["reason"]["chart"] = Markup(  # noqa: S704
        charts.bars(
            tables["reason"]["figures"], None, title=tables["reason"]["title"], unit="%", fmt=fmt
        )
    )
    tables["trend"]["chart"] = Markup(  # noqa: S704
        charts.trend(
            cuts.trend,
            title=tables["trend"]["title"],
            unit=unit,
            fmt=fmt,
            day=functools.partial(_short_day, lang),
        )
    )
    heatmap = charts.heatmap(
        cuts.hours,
        cuts.overall,
        weekdays=weekdays,
        title=text(lang, "console.heatmap"),
        scale_label=unit,
        fmt=fmt,
    )
    return view.render(
        request,
        "satisfaction.html",
        lang,
        **{
            **await _frame(request, viewer, chosen, lang, "satisfaction"),
            "scales": [(n, text(lang, f"console.scale.{n}")) for n in SCALE_NAMES],
        },
        scale_label=scale_label,
        overall=fmt(cuts.overall.value) if cuts.overall else "",
        overall_interval=_interval(cuts.overall, fmt),
        overall_n=cuts.overall.n if cuts.overall else 0,
        heatmap=Markup(heatmap),  # noqa: S704
        hours=tables["hour"],
        tables=[tables[name] for name in figures.TABLES],
        pains=tables["reason"],
        unhappy=cuts.unhappy,
        trend=tables["trend"],
    )


def _named(cuts: figures.Cuts, lang: str) -> list[tuple[str, list[tuple[str, Figure, str]]]]:
    """Each table's rows: (label, figure, kind), kind "below", "above" or ""."""
    weekdays = _weekdays("wide", lang)

    def rows(
        found: Sequence[figures.Row], label: Callable[[str], str]
    ) -> list[tuple[str, Figure, str]]:
        return [
            (label(r.cell), r.figure, "below" if r.below else "above" if r.above else "")
            for r in found
        ]

    def hour(cell: str) -> str:
        day, h = cell.split(":")
        return f"{weekdays[int(day)]} {int(h):02d}:00"

    named = [("hour", rows(cuts.hour_rows, hour))]
    for cut in figures.TABLES:
        named.append((cut, rows(cuts.tables[cut], functools.partial(_cell_label, lang, cut))))
    named.append(
        (
            "reason",
            [(text(lang, _REASONS.get(p.reason, "reason.other")), p.share, "") for p in cuts.pains],
        )
    )
    named.append(("trend", [(d.isoformat(), f, "") for d, f in cuts.trend if f is not None]))
    return named


def _short_day(lang: str, day: date) -> str:
    """A day as the trend names it, Babel's "d MMM" ("3 Dec", "3 дек."), of the month's name
    looked up (a year's trend names 365 days; Babel formats one in some 80 us)."""
    return f"{day.day} {_months(lang)[day.month]}"


@functools.cache
def _months(lang: str) -> dict[int, str]:
    return dict(get_month_names("abbreviated", context="format", locale=lang))


def _weekdays(width: Literal["abbreviated", "wide"], lang: str) -> list[str]:
    names = get_day_names(width, locale=lang)
    return [names[day] for day in range(7)]  # 0 is Monday, as datetime.weekday() counts


def _cell_label(lang: str, cut: str, cell: str) -> str:
    if cell == "-":
        return text(lang, "console.unknown")
    if cut in ("channel", "party"):
        return text(lang, f"console.{cut}.{cell}")
    return cell


def _table(
    request: web.Request,
    chosen: Filters,
    lang: str,
    name: str,
    rows: list[tuple[str, Figure, str]],
    unit: str,
    fmt: Fmt,
) -> dict[str, Any]:
    return {
        "name": name,
        "title": text(lang, f"console.table.{name}"),
        "column": text(lang, f"console.column.{name}"),
        "unit": "%" if name == "reason" else unit,
        "csv": view.link(SATISFACTION, lang, **_query(chosen), csv=name),
        "figures": [(label, f) for label, f, _ in rows],
        "all": rows,  # for the CSV
        "total": len(rows),
        "rows": [
            Shown(label, fmt(f.value), _interval(f, fmt), f.n, kind)
            for label, f, kind in (rows if name == "trend" else rows[:TABLE_ROWS])
        ],
    }


class Shown(NamedTuple):
    """A table's row as shown (a tuple: a template reads its fields without a miss first, as
    it does a dict's; a year's page shows some 600 rows)."""

    label: str
    value: str
    interval: str
    n: int
    kind: str


def _csv(table: dict[str, Any], chosen: Filters, name: str) -> web.Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["cell", "value", "low", "high", "answers", "below_average", "above_average"])
    for label, f, kind in table["all"]:
        writer.writerow(
            [
                shown.csv_cell(label),
                round(f.value, 3),
                round(f.low, 3),
                round(f.high, 3),
                f.n,
                int(kind == "below"),
                int(kind == "above"),
            ]
        )
    period = f"{chosen.period.first.isoformat()}_{chosen.period.last.isoformat()}"
    filename = f"satisfaction-{chosen.scale_name}-{name}-{period}.csv"
    return shown.csv_response(out.getvalue(), filename)


def _filters(request: web.Request, viewer: Viewer) -> Filters:
    settings = request.app[SETTINGS]
    today = datetime.now(UTC).astimezone(request.app[ZONE]).date()
    return filters(
        request.query, today=today, keep_days=settings.figures_days, own_account=viewer.account
    )


async def nav(
    request: web.Request, viewer: Viewer, lang: str, section: str, query: dict[str, str]
) -> dict[str, Any]:
    """The frame's header: the sections (the figures' keeping the period of `query`), the
    one shown, signing out, and for the operator the count of overdue cases."""
    return {
        "viewer": viewer,
        "section": section,
        "sections": [
            (name, view.link(path, lang, **(query if name in _FIGURES else {})))
            for name, path in SECTIONS
        ],
        "sign_out": view.link("/console/sign-out", lang),
        "overdue": await _overdue(request) if viewer.operator else 0,
    }


async def _overdue(request: web.Request) -> int:
    """One count in Redis; a page is shown without it rather than not at all."""
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    try:
        async with asyncio.timeout(_COUNT_TIMEOUT_S):
            return await request.app[FEEDBACK].overdue_count(now_ms)
    except (*UNREACHABLE, TimeoutError) as e:
        log.warning("overdue cases not counted", error=repr(e))
        return 0


async def _frame(
    request: web.Request, viewer: Viewer, chosen: Filters, lang: str, section: str
) -> dict[str, Any]:
    return {
        **await nav(request, viewer, lang, section, _query(chosen)),
        "action": request.path,
        "period": chosen.period,
        "account": chosen.account,
        "problems": chosen.problems,
        "scales": [],
        "scale_code": chosen.scale_name,
    }


def _query(chosen: Filters) -> dict[str, str]:
    return {
        "from": chosen.period.first.isoformat(),
        "to": chosen.period.last.isoformat(),
        "account": chosen.account,
        "scale": chosen.scale_name,
    }


@functools.cache
def _fmt(lang: str) -> Fmt:
    """A number as the language writes it ("1,234.5", "1 234,5"), one decimal: Babel's symbols,
    Python's formatting (Babel's own takes a hundred times as long, and a page has thousands)."""
    decimal, group = get_decimal_symbol(lang), get_group_symbol(lang)
    minus = get_minus_sign_symbol(lang)

    if (decimal, group, minus) == (".", ",", "-"):
        return "{:,.1f}".format
    symbols = str.maketrans({",": group, ".": decimal, "-": minus})

    def fmt(v: float) -> str:
        return f"{v:,.1f}".translate(symbols)

    return fmt


def _interval(f: Figure | None, fmt: Fmt) -> str:
    return f"{fmt(f.low)} \N{EN DASH} {fmt(f.high)}" if f else ""


def _change(now: Figure | None, before: Figure | None, fmt: Fmt) -> str:
    if now is None or before is None:
        return ""
    delta = now.value - before.value
    return ("+" if delta > 0 else "") + fmt(delta)


def _direction(now: Figure | None, before: Figure | None) -> str:
    if now is None or before is None or now.value == before.value:
        return ""
    return "up" if now.value > before.value else "down"
