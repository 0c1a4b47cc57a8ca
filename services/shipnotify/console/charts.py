"""The console's charts as SVG markup drawn on the server: a weekday x hour heatmap, bars with
their intervals, a daily trend. Markup to place inside an HTML page (whose parser gives it
the SVG namespace), so it names no other host: no script, no links, no fonts, no url().
Colours come as classes a stylesheet can theme, with a fill attribute to fall back on.

Written as strings, each text escaped (`_esc`), not built as an element tree: a year's page
has some 3,500 elements in its charts, whose tree and its serialisation took a third of the
page's time. The markup is the tree's, byte for byte."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import date

from shipnotify.model.satisfaction import Figure, above, below

Fmt = Callable[[float], str]
FILL = {"below": "#d6604d", "above": "#4393c3", "even": "#e0e0e0", "empty": "#f4f4f4"}
INK, BAND = "#333333", "#c6dbef"
CELL, GAP, LABELS = 20, 2, 72  # the heatmap's cell, the gap between, the weekday labels


def heatmap(
    cells: Mapping[tuple[int, int], Figure | None],
    overall: Figure | None,
    *,
    weekdays: Sequence[str],
    title: str,
    scale_label: str,
    fmt: Fmt = "{:.1f}".format,
) -> str:
    """7 rows (0 = Monday) x 24 hours. A cell is coloured only when its interval lies wholly
    above or below the overall figure, the more the farther that interval lies from it, so
    thin cells stay grey; a cell below also carries a dot."""
    if len(weekdays) != 7:
        raise ValueError(f"a heatmap needs 7 weekday names, Monday first, not {len(weekdays)}")
    top = 40
    width, height = LABELS + 24 * (CELL + GAP) + 8, top + 7 * (CELL + GAP) + 34
    body: list[str] = []
    kinds = {key: _kind(f, overall) for key, f in cells.items()}
    marked = [_gap(f, overall) for key, f in cells.items() if kinds[key] in ("above", "below")]
    spread = max(marked, default=0.0) or 1.0
    for hour in range(24):
        body.append(_text(str(hour), x=LABELS + hour * (CELL + GAP) + CELL / 2, y=top - 6, size=9))
    for day in range(7):
        y = top + day * (CELL + GAP)
        body.append(_text(weekdays[day], x=LABELS - 6, y=y + 14, anchor="end"))
        for hour in range(24):
            x, cell = LABELS + hour * (CELL + GAP), cells.get((day, hour))
            kind = kinds.get((day, hour), "empty")
            fill = FILL[kind]
            if kind in ("above", "below"):
                fill = _shade(fill, _gap(cell, overall) / spread)
            tip = f"{weekdays[day]} {hour}:00 \N{EM DASH} {_figure(cell, fmt)}"
            body.append(
                f'<g class="cell {kind}"><title>{_esc(tip)}</title>'
                f'<rect x="{_num(x)}" y="{_num(y)}" width="{CELL}" height="{CELL}"'
                f' fill="{fill}" />'
                + (_marker(x + CELL / 2, y + CELL / 2) if kind == "below" else "")
                + "</g>"
            )
    if overall:  # the key: the colour below, the overall figure, the colour above
        y = height - 26
        body.append(_text(scale_label, x=LABELS - 6, y=y + 14, anchor="end"))
        for kind, x in (("below", LABELS), ("above", LABELS + 2 * (CELL + GAP) + 40)):
            body.append(
                f'<rect x="{_num(x)}" y="{_num(y)}" width="{CELL}" height="{CELL}"'
                f' fill="{FILL[kind]}" class="key {kind}" />'
            )
        body.append(_marker(LABELS + CELL / 2, y + CELL / 2))
        body.append(
            _text(fmt(overall.value), x=LABELS + CELL + GAP + 30, y=y + 14, anchor="middle")
        )
    return _chart(width, height, title, body)


def bars(
    rows: Sequence[tuple[str, Figure]],
    overall: Figure | None,
    *,
    title: str,
    unit: str,
    fmt: Fmt = "{:.1f}".format,
) -> str:
    """A bar a row with its interval as a whisker and the overall figure as a line; a row
    below it is marked with a dot as well as its colour."""
    top, row, left, plot = 30, 24, 180, 300
    width, height = left + plot + 90, top + row * len(rows) + 22
    body: list[str] = []
    ends = [f.low for _, f in rows] + [f.high for _, f in rows]
    ends += [0.0] + ([overall.value] if overall else [])
    x = _Axis(min(ends), max(ends), left, left + plot)
    for i, (label, f) in enumerate(rows):
        y, kind = top + i * row, _kind(f, overall)
        start, end = sorted((x(0), x(f.value)))
        whisker = [(x(f.low), y + row / 2, x(f.high), y + row / 2)]
        whisker += [(x(v), y + 7, x(v), y + row - 7) for v in (f.low, f.high)]
        tip = f"{label} \N{EM DASH} {_figure(f, fmt)}"
        body.append(
            f'<g class="bar {kind}"><title>{_esc(tip)}</title>'
            + _text(_short(label), x=left - 8, y=y + 15, anchor="end")
            + f'<rect x="{_num(start)}" y="{_num(y + 4)}" width="{_num(end - start)}"'
            f' height="{_num(row - 8)}" fill="{FILL[kind]}" />'
            + "".join(
                f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}"'
                f' stroke="{INK}" class="interval" />'
                for x1, y1, x2, y2 in whisker
            )
            + _text(f"{fmt(f.value)}{unit}", x=left + plot + 8, y=y + 15)
            + (_marker(8, y + row / 2) if kind == "below" else "")
            + "</g>"
        )
    if overall:
        at = _num(x(overall.value))
        body.append(
            f'<line x1="{at}" y1="{_num(top - 4)}" x2="{at}"'
            f' y2="{_num(top + row * len(rows) + 4)}" stroke="{INK}" stroke-dasharray="4 3"'
            f' class="overall"><title>{_esc(_figure(overall, fmt))}</title></line>'
        )
        body.append(
            _text(f"{fmt(overall.value)}{unit}", x=x(overall.value), y=height - 4, anchor="middle")
        )
    return _chart(width, height, title, body)


def trend(
    points: Sequence[tuple[date, Figure | None]],
    *,
    title: str,
    unit: str,
    fmt: Fmt = "{:.1f}".format,
    day: Callable[[date], str] = date.isoformat,
) -> str:
    """The daily figure as a line over its interval as a band; a day with no answers (or
    missing from points) breaks both."""
    top, left, plot_w, plot_h = 30, 56, 480, 160
    width, height = left + plot_w + 16, top + plot_h + 28
    body: list[str] = []
    known = sorted(((d, f) for d, f in points if f), key=lambda point: point[0])
    if not known:
        return _chart(width, height, title, body)
    first, last = known[0][0], known[-1][0]
    x = _Axis(0, max(1, (last - first).days), left, left + plot_w)
    y = _Axis(min(f.low for _, f in known), max(f.high for _, f in known), top + plot_h, top)
    for value in (y.low, y.high):
        body.append(_text(f"{fmt(value)}{unit}", x=left - 6, y=y(value) + 4, anchor="end"))
    for d, anchor in ((first, "start"), (last, "end")):
        body.append(_text(day(d), x=x((d - first).days), y=height - 6, anchor=anchor))
    for run in _runs(known):
        xs = [x((d - first).days) for d, _ in run]
        highs, lows = [y(f.high) for _, f in run], [y(f.low) for _, f in run]
        if len(run) == 1:  # a day alone: its interval as a stroke
            body.append(
                f'<line x1="{_num(xs[0])}" y1="{_num(highs[0])}" x2="{_num(xs[0])}"'
                f' y2="{_num(lows[0])}" stroke="{BAND}" class="band" />'
            )
        else:
            outline = [*zip(xs, highs, strict=True), *reversed(list(zip(xs, lows, strict=True)))]
            body.append(f'<polygon points="{_points(outline)}" fill="{BAND}" class="band" />')
        line = [(px, y(f.value)) for px, (_, f) in zip(xs, run, strict=True)]
        body.append(
            f'<polyline points="{_points(line)}" fill="none" stroke="{INK}" class="line" />'
        )
        for (px, py), (d, f) in zip(line, run, strict=True):
            tip = f"{day(d)} \N{EM DASH} {_figure(f, fmt)}"
            body.append(
                f'<circle cx="{_num(px)}" cy="{_num(py)}" r="2.5" fill="{INK}">'
                f"<title>{_esc(tip)}</title></circle>"
            )
    return _chart(width, height, title, body)


# ---- the parts ----


class _Axis:
    """Maps low..high onto start..end."""

    def __init__(self, low: float, high: float, start: float, end: float) -> None:
        self.low, self.high = low, high if high > low else low + 1
        self.start, self.end = start, end

    def __call__(self, v: float) -> float:
        return self.start + (v - self.low) / (self.high - self.low) * (self.end - self.start)


def _runs(known: list[tuple[date, Figure]]) -> list[list[tuple[date, Figure]]]:
    """Consecutive days, split where a day is missing."""
    runs: list[list[tuple[date, Figure]]] = []
    for d, f in known:
        if runs and (d - runs[-1][-1][0]).days == 1:
            runs[-1].append((d, f))
        else:
            runs.append([(d, f)])
    return runs


def _kind(f: Figure | None, overall: Figure | None) -> str:
    if f is None:
        return "empty"
    if overall and below(f, overall):
        return "below"
    if overall and above(f, overall):
        return "above"
    return "even"


def _gap(f: Figure | None, overall: Figure | None) -> float:
    """How far the interval lies from the overall figure (0 when it holds it)."""
    if f is None or overall is None:
        return 0.0
    return max(0.0, f.low - overall.value, overall.value - f.high)


def _shade(colour: str, strength: float) -> str:
    """The colour mixed with the neutral grey: a third of it at the least, all at 1."""
    weight = 1 / 3 + 2 / 3 * min(1.0, strength)
    ours, grey = bytes.fromhex(colour[1:]), bytes.fromhex(FILL["even"][1:])
    return "#" + bytes(round(g + (c - g) * weight) for c, g in zip(ours, grey, strict=True)).hex()


def _figure(f: Figure | None, fmt: Fmt) -> str:
    if f is None:
        return "n = 0"
    return f"{fmt(f.value)} ({fmt(f.low)}\N{EN DASH}{fmt(f.high)}), n = {f.n}"


def _short(label: str) -> str:
    return label if len(label) <= 26 else label[:25] + "\N{HORIZONTAL ELLIPSIS}"


def _chart(width: float, height: float, title: str, body: list[str]) -> str:
    """The chart's markup, with the id its title is known by made from the chart itself (a
    hash of it as it reads without that id), so charts on one page never share one."""
    svg = (
        f'<svg viewBox="0 0 {_num(width)} {_num(height)}" width="100%" role="img"'
        ' font-family="sans-serif"'
    )
    rest = (
        (f">{_esc(title)}</title>" if title else " />")
        + _text(title, x=4, y=16, size=13, cls="chart-title")
        + (f'<g fill="{INK}">{"".join(body)}</g>' if body else f'<g fill="{INK}" />')
        + "</svg>"
    )
    unnamed = f"{svg}><title{rest}"
    # non-ASCII as character references: the hash the element tree's markup had before
    ident = "chart-" + hashlib.sha256(unnamed.encode("ascii", "xmlcharrefreplace")).hexdigest()[:12]
    return f'{svg} aria-labelledby="{ident}"><title id="{ident}"{rest}'


def _esc(text: str) -> str:
    """A text as markup between tags (never an attribute's value): & < > escaped."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    return text.replace(">", "&gt;") if ">" in text else text


def _text(
    text: str, *, x: float, y: float, anchor: str = "start", size: int = 11, cls: str = ""
) -> str:
    attrs = (
        f'x="{_num(x)}" y="{_num(y)}" fill="{INK}" font-size="{size}" text-anchor="{anchor}"'
        + (f' class="{cls}"' if cls else "")
    )
    return f"<text {attrs}>{_esc(text)}</text>" if text else f"<text {attrs} />"


def _marker(x: float, y: float) -> str:
    return f'<circle cx="{_num(x)}" cy="{_num(y)}" r="3.5" fill="#1a1a1a" class="marker" />'


def _num(v: float) -> str:
    return f"{v:.1f}".removesuffix(".0")


def _points(xy: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{_num(px)},{_num(py)}" for px, py in xy)
