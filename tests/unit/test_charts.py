"""The console's SVG charts: well-formed, accessible, self-contained, escaped, and marking
what lies below the overall figure by more than colour."""

from __future__ import annotations

from datetime import date, timedelta
from xml.etree import ElementTree as ET

import pytest

from shipnotify.console import charts
from shipnotify.model.satisfaction import Figure

WEEKDAYS = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]
OVERALL = Figure(80.0, 79.0, 81.0, 5000)
LOW = Figure(30.0, 21.9, 39.6, 100)  # wholly below 80
HIGH = Figure(97.0, 91.5, 99.0, 100)  # wholly above
EVEN = Figure(75.0, 50.0, 90.0, 12)  # holds 80
THIN = Figure(0.0, 0.0, 56.1, 3)  # below, but on 3 answers
NASTY = '<Depot & "Co">'


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # noqa: S314 (our own markup) well-formed, or this raises
    assert root.tag == "svg"
    assert root.get("width") == "100%"
    assert root.get("viewBox", "").startswith("0 0 ")
    assert root.get("role") == "img"
    title = root.find(f"title[@id='{root.get('aria-labelledby')}']")
    assert title is not None
    assert title.text
    return root


def self_contained(svg: str) -> None:
    lowered = svg.lower()
    for banned in ("http", "href", "<script", "url(", "style=", "@import", "@font-face"):
        assert banned not in lowered


def classes(el: ET.Element) -> set[str]:
    return set(el.get("class", "").split())


CELLS = {"low": (0, 9), "high": (6, 23), "even": (2, 12), "thin": (3, 3), "empty": (5, 5)}


def a_heatmap(**cells: Figure | None) -> str:
    return charts.heatmap(
        {CELLS[name]: f for name, f in cells.items()},
        OVERALL,
        weekdays=WEEKDAYS,
        title=f"CSAT {NASTY}",
        scale_label="% satisfied",
        fmt=lambda v: f"{v:.2f}".replace(".", ","),
    )


def cell(root: ET.Element, day: int, hour: int) -> ET.Element:
    [found] = [
        g
        for g in root.iter("g")
        if "cell" in classes(g) and g.findtext("title", "").startswith(f"{WEEKDAYS[day]} {hour}:")
    ]
    return found


def fill(root: ET.Element, day: int, hour: int) -> str:
    rect = cell(root, day, hour).find("rect")
    assert rect is not None
    return rect.get("fill", "")


def test_the_heatmap_has_a_cell_for_every_hour_of_the_week() -> None:
    svg = a_heatmap(low=LOW, high=HIGH, even=EVEN, thin=THIN)
    root = parse(svg)
    self_contained(svg)
    cells = [g for g in root.iter("g") if "cell" in classes(g)]
    assert len(cells) == 7 * 24
    assert all(g.find("rect") is not None and g.findtext("title") for g in cells)
    labels = [t.text for t in root.iter("text")]
    assert all(day in labels for day in WEEKDAYS)
    assert all(str(hour) in labels for hour in range(24))


def test_a_cell_below_the_overall_figure_carries_a_marker_and_its_class() -> None:
    root = parse(a_heatmap(low=LOW, high=HIGH, even=EVEN, thin=THIN))
    low = cell(root, 0, 9)
    assert classes(low) == {"cell", "below"}
    assert [classes(c) for c in low.iter("circle")] == [{"marker"}]
    assert cell(root, 0, 9).findtext("title") == "Mo 9:00 \u2014 30,00 (21,90\u201339,60), n = 100"
    assert classes(cell(root, 6, 23)) == {"cell", "above"}
    assert classes(cell(root, 2, 12)) == {"cell", "even"}
    assert classes(cell(root, 3, 3)) == {"cell", "even"}  # 3 answers raise no alarm
    assert classes(cell(root, 5, 5)) == {"cell", "empty"}
    assert cell(root, 5, 5).findtext("title") == "Sa 5:00 \u2014 n = 0"
    markers = [c for c in root.iter("circle") if "marker" in classes(c)]
    assert len(markers) == 2  # the cell's and the key's
    # colour too: the cells marked are not the grey of the others
    fills = {name: fill(root, *at) for name, at in CELLS.items()}
    assert len(set(fills.values())) == 4
    assert fills["even"] == charts.FILL["even"]


def test_the_heatmap_escapes_its_texts_and_needs_seven_weekdays() -> None:
    svg = a_heatmap(low=LOW)
    assert NASTY not in svg
    assert "&lt;Depot &amp;" in svg
    assert parse(svg).findtext("title") == f"CSAT {NASTY}"
    with pytest.raises(ValueError, match="7 weekday names"):
        charts.heatmap({}, None, weekdays=WEEKDAYS[:5], title="t", scale_label="s")


def test_a_heatmap_without_answers_is_all_empty_cells() -> None:
    root = parse(charts.heatmap({}, None, weekdays=WEEKDAYS, title="t", scale_label="s"))
    kinds = [classes(g) for g in root.iter("g") if "cell" in classes(g)]
    assert kinds == [{"cell", "empty"}] * 168


def test_bars_mark_the_rows_below_and_draw_the_overall_line() -> None:
    rows = [(NASTY, LOW), ("North", EVEN), ("South", HIGH), ("Night shift", THIN)]
    svg = charts.bars(rows, OVERALL, title="By depot", unit=" %", fmt="{:.0f}".format)
    root = parse(svg)
    self_contained(svg)
    groups = [g for g in root.iter("g") if "bar" in classes(g)]
    assert [classes(g) - {"bar"} for g in groups] == [{"below"}, {"even"}, {"above"}, {"even"}]
    assert [len(list(g.iter("circle"))) for g in groups] == [1, 0, 0, 0]
    assert all(len([ln for ln in g.iter("line") if "interval" in classes(ln)]) == 3 for g in groups)
    assert groups[0].findtext("title") == f"{NASTY} \u2014 30 (22\u201340), n = 100"
    assert NASTY not in svg
    [overall] = [ln for ln in root.iter("line") if "overall" in classes(ln)]
    assert overall.findtext("title") == "80 (79\u201381), n = 5000"
    assert "80 %" in [t.text for t in root.iter("text")]


def test_a_long_label_is_shortened_on_its_bar_and_whole_in_its_tooltip() -> None:
    label = "Chișinău, Ciocana depot, the second yard"
    root = parse(charts.bars([(label, EVEN)], None, title="t", unit=""))
    [group] = [g for g in root.iter("g") if "bar" in classes(g)]
    assert group.findtext("title", "").startswith(label)
    assert group.findtext("text") == label[:25] + "\u2026"


def test_the_trend_breaks_its_line_and_band_on_a_day_without_answers() -> None:
    start = date(2026, 11, 1)
    days = [start + timedelta(days=i) for i in range(7)]
    figures = [EVEN, LOW, None, HIGH, EVEN, None, LOW]
    svg = charts.trend(
        list(zip(days, figures, strict=True)),
        title=f"Trend {NASTY}",
        unit="%",
        fmt=lambda v: f"{v:.1f}".replace(".", ","),
        day=lambda d: d.strftime("%d.%m"),
    )
    root = parse(svg)
    self_contained(svg)
    assert NASTY not in svg
    # three runs: days 0-1, 3-4, and 6 alone (its interval a stroke)
    lines = [p for p in root.iter("polyline") if "line" in classes(p)]
    assert [len(p.get("points", "").split()) for p in lines] == [2, 2, 1]
    bands = [el for el in root.iter() if "band" in classes(el)]
    assert [el.tag for el in bands] == ["polygon", "polygon", "line"]
    dots = [c.findtext("title") for c in root.iter("circle")]
    assert dots[1] == "02.11 \u2014 30,0 (21,9\u201339,6), n = 100"
    assert len(dots) == 5
    labels = [t.text for t in root.iter("text")]
    assert {"01.11", "07.11", "21,9%", "99,0%"} <= set(labels)


def test_a_day_missing_from_the_points_breaks_the_line_too() -> None:
    points = [(date(2026, 11, 1), EVEN), (date(2026, 11, 2), EVEN), (date(2026, 11, 4), EVEN)]
    root = parse(charts.trend(points, title="t", unit=""))
    lines = [p for p in root.iter("polyline") if "line" in classes(p)]
    assert [len(p.get("points", "").split()) for p in lines] == [2, 1]


def test_a_trend_without_answers_is_an_empty_chart() -> None:
    root = parse(charts.trend([(date(2026, 11, 1), None)], title="t", unit=""))
    assert list(root.iter("polyline")) == []


def test_every_chart_has_its_own_id() -> None:
    one = parse(charts.bars([("A", LOW)], OVERALL, title="A", unit=""))
    other = parse(charts.bars([("A", HIGH)], OVERALL, title="A", unit=""))
    assert one.get("aria-labelledby") != other.get("aria-labelledby")
