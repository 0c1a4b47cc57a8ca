"""The satisfaction figures of a period, from the per-day counts (store/survey_days.py): the
headline figure of each scale against the period before, and one scale's cuts (depot,
courier, channel, party, weekday x hour), pain map and daily trend. Reading is I/O; what the
counts mean is model/satisfaction.py's."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from shipnotify.model import satisfaction
from shipnotify.model.satisfaction import Figure, Pain, Tally
from shipnotify.model.survey_days import ALL, Cell, cells, combined
from shipnotify.store.survey_days import Span, Summed, SurveyDays, made

TABLES = ("depot", "courier", "channel", "party")


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    @property
    def before(self) -> Period:
        return Period(*satisfaction.previous(self.first, self.last))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


@dataclass(frozen=True)
class Headline:
    """A scale's figure in the period and in the one before, and its surveys."""

    scale: int
    now: Figure | None
    before: Figure | None
    sent: int
    answered: int

    @property
    def response(self) -> Figure | None:
        """The share of the surveys sent that were answered (page answers, never sent, aside)."""
        return satisfaction.share(min(self.answered, self.sent), self.sent) if self.sent else None


@dataclass(frozen=True)
class Row:
    cell: str
    figure: Figure
    below: bool
    above: bool


@dataclass(frozen=True)
class Cuts:
    scale: int
    overall: Figure | None
    tables: Mapping[str, list[Row]]
    hours: Mapping[tuple[int, int], Figure | None]
    hour_rows: list[Row]
    pains: list[Pain]
    unhappy: int
    trend: list[tuple[date, Figure | None]]


def tally(scale: int, cell: Cell) -> Tally:
    """A cell's scores as a tally (model/satisfaction.py's), from their counts."""
    (good_low, good_high), (bad_low, bad_high) = satisfaction.KINDS[scale]
    n = total = squares = good = bad = 0
    for s, k in cell.scores.items():  # one pass: a year's page tallies some 1,000 cells
        n += k
        total += s * k
        squares += s * s * k
        if good_low <= s <= good_high:
            good += k
        if bad_low <= s <= bad_high:
            bad += k
    return Tally(n=n, total=total, squares=squares, good=good, bad=bad)


async def headlines(
    days: SurveyDays, period: Period, scales: Sequence[int], account: str
) -> list[Headline]:
    now = await days.read(period.first, period.last, "all", account=account)
    before = await days.read(period.before.first, period.before.last, "all", account=account)
    found = []
    for scale in scales:
        cell_now = _cells(now, scale).get(ALL, Cell({}))
        cell_before = _cells(before, scale).get(ALL, Cell({}))
        found.append(
            Headline(
                scale,
                satisfaction.figure(scale, tally(scale, cell_now)),
                satisfaction.figure(scale, tally(scale, cell_before)),
                cell_now.sent,
                cell_now.answers,
            )
        )
    return found


async def cuts(days: SurveyDays, period: Period, scale: int, account: str) -> Cuts:
    read, each_day = await days.read_cuts(
        period.first,
        period.last,
        ("all", *TABLES, "hour", "reason"),
        account=account,
        each_day="all",
    )
    all_cell = _cells(read["all"], scale).get(ALL, Cell({}))
    overall = satisfaction.figure(scale, tally(scale, all_cell))
    tables = {cut: _rows(scale, _cells(read[cut], scale), overall) for cut in TABLES}
    hour_cells = _cells(read["hour"], scale)
    hours = {
        (w, h): satisfaction.figure(scale, tally(scale, hour_cells[f"{w}:{h}"]))
        if f"{w}:{h}" in hour_cells
        else None
        for w in range(7)
        for h in range(24)
    }
    reasons = {int(r): c.unhappy for r, c in _cells(read["reason"], scale).items()}
    day_figure = functools.partial(_day_figure, scale)
    trend = [
        (period.first + timedelta(i), made(day, ("figure", scale), day_figure))
        for i, day in enumerate(each_day)
    ]
    return Cuts(
        scale,
        overall,
        tables,
        hours,
        _rows(scale, hour_cells, overall),
        satisfaction.pains(reasons, all_cell.unhappy),
        all_cell.unhappy,
        trend,
    )


def _cells(span: Span, scale: int) -> dict[str, Cell]:
    """The span's cells: a settled sum's as made once (store/survey_days.py `made`), the
    fresh hashes' summed and read on each call."""
    parse = functools.partial(_parsed, scale)
    parts = [(1, made(h, ("cells", scale), parse)) for h in span.plus if isinstance(h, Summed)]
    parts += [(-1, made(h, ("cells", scale), parse)) for h in span.minus if isinstance(h, Summed)]
    plus = [h for h in span.plus if not isinstance(h, Summed)]
    minus = [h for h in span.minus if not isinstance(h, Summed)]
    if plus or minus:
        parts.append((1, cells(plus, scale, minus=minus)))
    return combined(parts) if parts else {}


def _parsed(scale: int, counts: Mapping[Any, Any]) -> dict[str, Cell]:
    return cells([counts], scale)


def _day_figure(scale: int, day: Mapping[Any, Any]) -> Figure | None:
    return satisfaction.figure(scale, tally(scale, cells([day], scale).get(ALL, Cell({}))))


def _rows(scale: int, found: Mapping[str, Cell], overall: Figure | None) -> list[Row]:
    rows = []
    for name, cell in found.items():
        f = satisfaction.figure(scale, tally(scale, cell))
        if f is None:
            continue
        low = overall is not None and satisfaction.below(f, overall)
        high = overall is not None and satisfaction.above(f, overall)
        rows.append(Row(name, f, low, high))
    # the cells below average first, each group by its figure, the lowest first
    return sorted(rows, key=lambda r: (not r.below, r.figure.value, r.cell))
