"""The console's charts as SVG markup drawn on the server: a weekday x hour heatmap, bars with
their intervals, a daily trend. Markup to place inside an HTML page (whose parser gives it
the SVG namespace), so it names no other host: no script, no links, no fonts, no url().
Colours come as classes a stylesheet can theme, with a fill attribute to fall back on."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from xml.etree import ElementTree as ET

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
    svg, body = _chart(width, height, title)
    kinds = {key: _kind(f, overall) for key, f in cells.items()}
    marked = [_gap(f, overall) for key, f in cells.items() if kinds[key] in ("above", "below")]
    spread = max(marked, default=0.0) or 1.0
    for hour in range(24):
        _text(body, str(hour), x=LABELS + hour * (CELL + GAP) + CELL / 2, y=top - 6, size=9)
    for day in range(7):
        y = top + day * (CELL + GAP)
        _text(body, weekdays[day], x=LABELS - 6, y=y + 14, anchor="end")
        for hour in range(24):
            x, cell = LABELS + hour * (CELL + GAP), cells.get((day, hour))
            kind = kinds.get((day, hour), "empty")
            group = _add(body, "g")
            group.set("class", f"cell {kind}")
            _add(
                group, "title"
            ).text = f"{weekdays[day]} {hour}:00 \N{EM DASH} {_figure(cell, fmt)}"
            fill = FILL[kind]
            if kind in ("above", "below"):
                fill = _shade(fill, _gap(cell, overall) / spread)
            _add(group, "rect", x=x, y=y, width=CELL, height=CELL, fill=fill)
            if kind == "below":
                _marker(group, x + CELL / 2, y + CELL / 2)
    if overall:  # the key: the colour below, the overall figure, the colour above
        y = height - 26
        _text(body, scale_label, x=LABELS - 6, y=y + 14, anchor="end")
        for kind, x in (("below", LABELS), ("above", LABELS + 2 * (CELL + GAP) + 40)):
            key = _add(body, "rect", x=x, y=y, width=CELL, height=CELL, fill=FILL[kind])
            key.set("class", f"key {kind}")
        _marker(body, LABELS + CELL / 2, y + CELL / 2)
        _text(body, fmt(overall.value), x=LABELS + CELL + GAP + 30, y=y + 14, anchor="middle")
    return _markup(svg)


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
    svg, body = _chart(width, height, title)
    ends = [f.low for _, f in rows] + [f.high for _, f in rows]
    ends += [0.0] + ([overall.value] if overall else [])
    x = _Axis(min(ends), max(ends), left, left + plot)
    for i, (label, f) in enumerate(rows):
        y, kind = top + i * row, _kind(f, overall)
        group = _add(body, "g")
        group.set("class", f"bar {kind}")
        _add(group, "title").text = f"{label} \N{EM DASH} {_figure(f, fmt)}"
        _text(group, _short(label), x=left - 8, y=y + 15, anchor="end")
        start, end = sorted((x(0), x(f.value)))
        _add(group, "rect", x=start, y=y + 4, width=end - start, height=row - 8, fill=FILL[kind])
        whisker = [(x(f.low), y + row / 2, x(f.high), y + row / 2)]
        whisker += [(x(v), y + 7, x(v), y + row - 7) for v in (f.low, f.high)]
        for x1, y1, x2, y2 in whisker:
            _add(group, "line", x1=x1, y1=y1, x2=x2, y2=y2, stroke=INK).set("class", "interval")
        _text(group, f"{fmt(f.value)}{unit}", x=left + plot + 8, y=y + 15)
        if kind == "below":
            _marker(group, 8, y + row / 2)
    if overall:
        line = _add(body, "line", x1=x(overall.value), y1=top - 4, x2=x(overall.value))
        line.set("y2", _num(top + row * len(rows) + 4))
        line.set("stroke", INK)
        line.set("stroke-dasharray", "4 3")
        line.set("class", "overall")
        _add(line, "title").text = _figure(overall, fmt)
        _text(
            body, f"{fmt(overall.value)}{unit}", x=x(overall.value), y=height - 4, anchor="middle"
        )
    return _markup(svg)


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
    svg, body = _chart(width, height, title)
    known = sorted(((d, f) for d, f in points if f), key=lambda point: point[0])
    if not known:
        return _markup(svg)
    first, last = known[0][0], known[-1][0]
    x = _Axis(0, max(1, (last - first).days), left, left + plot_w)
    y = _Axis(min(f.low for _, f in known), max(f.high for _, f in known), top + plot_h, top)
    for value in (y.low, y.high):
        _text(body, f"{fmt(value)}{unit}", x=left - 6, y=y(value) + 4, anchor="end")
    for d, anchor in ((first, "start"), (last, "end")):
        _text(body, day(d), x=x((d - first).days), y=height - 6, anchor=anchor)
    for run in _runs(known):
        xs = [x((d - first).days) for d, _ in run]
        highs, lows = [y(f.high) for _, f in run], [y(f.low) for _, f in run]
        if len(run) == 1:  # a day alone: its interval as a stroke
            band = _add(body, "line", x1=xs[0], y1=highs[0], x2=xs[0], y2=lows[0])
            band.set("stroke", BAND)
        else:
            outline = [*zip(xs, highs, strict=True), *reversed(list(zip(xs, lows, strict=True)))]
            band = _add(body, "polygon", points=_points(outline), fill=BAND)
        band.set("class", "band")
        line = [(px, y(f.value)) for px, (_, f) in zip(xs, run, strict=True)]
        _add(body, "polyline", points=_points(line), fill="none", stroke=INK).set("class", "line")
        for (px, py), (d, f) in zip(line, run, strict=True):
            dot = _add(body, "circle", cx=px, cy=py, r=2.5, fill=INK)
            _add(dot, "title").text = f"{day(d)} \N{EM DASH} {_figure(f, fmt)}"
    return _markup(svg)


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


def _chart(width: float, height: float, title: str) -> tuple[ET.Element, ET.Element]:
    svg = ET.Element("svg", viewBox=f"0 0 {_num(width)} {_num(height)}", width="100%")
    svg.set("role", "img")
    svg.set("font-family", "sans-serif")
    _add(svg, "title").text = title
    _text(svg, title, x=4, y=16, size=13).set("class", "chart-title")
    return svg, _add(svg, "g", fill=INK)


def _markup(svg: ET.Element) -> str:
    """The markup, with the id its title is known by made from the chart itself, so charts
    on one page never share one."""
    ident = "chart-" + hashlib.sha256(ET.tostring(svg)).hexdigest()[:12]
    svg.set("aria-labelledby", ident)
    svg[0].set("id", ident)  # the <title>
    return ET.tostring(svg, encoding="unicode")


def _add(parent: ET.Element, tag: str, **attrs: float | str) -> ET.Element:
    return ET.SubElement(
        parent, tag, {k: _num(v) if isinstance(v, float | int) else v for k, v in attrs.items()}
    )


def _text(
    parent: ET.Element, text: str, *, x: float, y: float, anchor: str = "start", size: int = 11
) -> ET.Element:
    el = _add(parent, "text", x=x, y=y, fill=INK)
    el.set("font-size", str(size))
    el.set("text-anchor", anchor)
    el.text = text  # ElementTree escapes it
    return el


def _marker(parent: ET.Element, x: float, y: float) -> None:
    _add(parent, "circle", cx=x, cy=y, r=3.5, fill="#1a1a1a").set("class", "marker")


def _num(v: float) -> str:
    return f"{v:.1f}".removesuffix(".0")


def _points(xy: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{_num(px)},{_num(py)}" for px, py in xy)
