"""The satisfaction figures of a period, from the per-day counts (store/survey_days.py): the
headline figure of each scale against the period before, and one scale's cuts (depot,
courier, channel, party, weekday x hour), pain map and daily trend. Reading is I/O; what the
counts mean is model/satisfaction.py's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from shipnotify.model import satisfaction
from shipnotify.model.satisfaction import Figure, Pain, Tally
from shipnotify.model.survey_days import ALL, Cell, cells
from shipnotify.store.survey_days import Span, SurveyDays

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
    scores = cell.scores.items()
    return Tally(
        n=sum(k for _, k in scores),
        total=sum(s * k for s, k in scores),
        squares=sum(s * s * k for s, k in scores),
        good=sum(k for s, k in scores if good_low <= s <= good_high),
        bad=sum(k for s, k in scores if bad_low <= s <= bad_high),
    )


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
    trend = [
        (period.first + timedelta(i), satisfaction.figure(scale, tally(scale, _all_of(day, scale))))
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
    return cells(span.plus, scale, minus=span.minus)


def _all_of(day: Mapping[str, int], scale: int) -> Cell:
    return cells([day], scale).get(ALL, Cell({}))


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
