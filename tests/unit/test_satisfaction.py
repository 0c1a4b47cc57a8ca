"""The console's figures: Wilson and t intervals against published values, NPS, what counts
as below or above the overall figure, the pain map's ranking and the previous period."""

from __future__ import annotations

from datetime import date
from functools import reduce

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipnotify.model import satisfaction as sat
from shipnotify.model.satisfaction import Figure, Tally
from shipnotify.model.survey import RANGES
from shipnotify.v1 import survey_pb2 as spb

CSAT, NPS, CES = spb.SCALE_CSAT, spb.SCALE_NPS, spb.SCALE_CES


def tally(scale: int, scores: list[int]) -> Tally:
    return sum((Tally.of(scale, s) for s in scores), Tally())


def rounded(f: Figure | None, places: int) -> tuple[float, float, float, int]:
    assert f is not None
    return round(f.value, places), round(f.low, places), round(f.high, places), f.n


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (8, 10, 49.02, 94.33),
        # Newcombe, Statistics in Medicine 17 (1998) 857-872, table II, method 3 (score)
        (81, 263, 25.53, 36.62),
        (15, 148, 6.24, 16.05),
        (0, 20, 0.00, 16.11),
        (1, 29, 0.61, 17.18),
    ],
)
def test_shares_have_the_wilson_interval(k: int, n: int, low: float, high: float) -> None:
    assert rounded(sat.share(k, n), 2)[1:] == (low, high, n)


@pytest.mark.parametrize(
    ("df", "t"),
    [
        *[(1, 12.706), (2, 4.303), (10, 2.228), (30, 2.042)],  # the table
        *[(31, 2.040), (40, 2.021), (60, 2.000), (100, 1.984), (120, 1.980), (1000, 1.962)],
    ],
)
def test_t_quantiles_match_the_table(df: int, t: float) -> None:
    assert round(sat.t_quantile(df), 3) == t


def test_csat_is_the_share_of_4_and_5() -> None:
    t = tally(CSAT, [5, 4, 3, 2, 1, 5, 4, 4, 5, 5])  # 7 good of 10
    assert (t.n, t.good, t.bad) == (10, 7, 2)
    assert rounded(sat.figure(CSAT, t), 2) == (70.0, 39.68, 89.22, 10)


def test_ces_is_the_mean_with_a_t_interval() -> None:
    # 1..5: mean 3, s = 1.5811; t(4) = 2.776, half = 2.776 * 1.5811 / sqrt(5) = 1.963
    assert rounded(sat.figure(CES, tally(CES, [1, 2, 3, 4, 5])), 3) == (3.0, 1.037, 4.963, 5)
    # 5, 6, 7: mean 6, s = 1; t(2) = 4.303, half = 2.484
    assert rounded(sat.figure(CES, tally(CES, [5, 6, 7])), 3) == (6.0, 3.516, 7.0, 3)


def test_one_score_spans_the_scale_and_equal_scores_have_no_width() -> None:
    assert sat.figure(CES, tally(CES, [6])) == Figure(6.0, 1, 7, 1)
    assert sat.mean(NPS, tally(NPS, [3])) == Figure(3.0, 0, 10, 1)
    assert sat.figure(CES, tally(CES, [2, 2, 2])) == Figure(2.0, 2.0, 2.0, 3)


def test_nps_is_promoters_less_detractors_with_the_multinomial_interval() -> None:
    # 50 promoters, 30 passives, 20 detractors: 30, var = (0.7 - 0.09) / 100, half 15.31
    t = tally(NPS, [10] * 25 + [9] * 25 + [8] * 15 + [7] * 15 + [6] * 10 + [0] * 10)
    assert (t.good, t.bad) == (50, 20)
    assert rounded(sat.figure(NPS, t), 2) == (30.0, 14.69, 45.31, 100)
    # 3 promoters, 1 detractor: 50, var = (1 - 0.25) / 4, half 84.87, clipped above
    assert rounded(sat.figure(NPS, tally(NPS, [9, 10, 10, 0])), 2) == (50.0, -34.87, 100.0, 4)


def test_no_answers_make_no_figure() -> None:
    for scale in (CSAT, NPS, CES):
        assert sat.figure(scale, Tally()) is None
    assert sat.share(0, 0) is None


def test_all_good_and_all_bad() -> None:
    assert rounded(sat.figure(CSAT, tally(CSAT, [5] * 10)), 2) == (100.0, 72.25, 100.0, 10)
    assert rounded(sat.figure(CSAT, tally(CSAT, [1] * 10)), 2) == (0.0, 0.0, 27.75, 10)
    assert sat.figure(NPS, tally(NPS, [10] * 10)) == Figure(100.0, 100.0, 100.0, 10)
    assert sat.figure(NPS, tally(NPS, [0] * 10)) == Figure(-100.0, -100.0, -100.0, 10)


@pytest.mark.parametrize(
    ("scale", "good", "bad"),
    [
        (CSAT, [4, 5], [1, 2]),
        (NPS, [9, 10], [0, 1, 2, 3, 4, 5, 6]),
        (CES, [5, 6, 7], [1, 2, 3]),
    ],
)
def test_good_and_bad_scores_of_each_scale(scale: int, good: list[int], bad: list[int]) -> None:
    low, high = RANGES[scale]
    scores = range(low, high + 1)
    assert [s for s in scores if Tally.of(scale, s).good] == good
    assert [s for s in scores if Tally.of(scale, s).bad] == bad


def test_a_score_outside_its_scale_is_refused() -> None:
    with pytest.raises(ValueError, match="outside the scale's 1-5"):
        Tally.of(CSAT, 0)
    with pytest.raises(ValueError, match="0 <= k <= n"):
        sat.share(4, 3)


OVERALL = Figure(80.0, 79.0, 81.0, 5000)


def test_three_unhappy_answers_raise_no_alarm() -> None:
    three = sat.figure(CSAT, tally(CSAT, [1, 1, 2]))
    assert three is not None
    # the interval alone would: 0 of 3 is at most 56.1% at 95%
    assert round(three.high, 1) == 56.1
    assert not sat.below(three, OVERALL)


def test_thirty_good_of_a_hundred_lie_below_eighty_percent() -> None:
    cut = sat.figure(CSAT, Tally(n=100, good=30, bad=50))
    assert cut is not None
    assert sat.below(cut, OVERALL)
    assert not sat.above(cut, OVERALL)


def test_below_and_above_need_the_whole_interval_on_one_side() -> None:
    assert sat.below(Figure(70, 60, 79.9, 50), OVERALL)
    assert not sat.below(Figure(70, 60, 80.0, 50), OVERALL)
    assert sat.above(Figure(90, 80.1, 95, 50), OVERALL)
    assert not sat.above(Figure(90, 80.0, 95, 50), OVERALL)
    assert not sat.below(Figure(70, 60, 79.9, sat.MIN_ANSWERS - 1), OVERALL)
    assert not sat.above(Figure(90, 85, 95, sat.MIN_ANSWERS - 1), OVERALL)
    assert sat.below(Figure(70, 60, 79.9, sat.MIN_ANSWERS), OVERALL)


def test_pains_rank_reasons_by_count_then_by_their_order() -> None:
    late, informed = spb.REASON_LATE, spb.REASON_NOT_INFORMED
    damaged, manner, other = spb.REASON_DAMAGED, spb.REASON_COURIER_MANNER, spb.REASON_OTHER
    ranked = sat.pains({other: 4, late: 2, damaged: 4, informed: 10, manner: 0}, unhappy=20)
    expected = [(informed, 10), (damaged, 4), (other, 4), (late, 2)]
    assert [(p.reason, p.count) for p in ranked] == expected
    assert rounded(ranked[0].share, 2) == (50.0, 29.93, 70.07, 20)
    assert rounded(ranked[1].share, 2) == (20.0, 8.07, 41.60, 20)
    assert sat.pains({}, unhappy=0) == []
    [only] = sat.pains({late: 1, damaged: 0}, unhappy=1)
    assert (only.reason, only.count, rounded(only.share, 2)) == (late, 1, (100.0, 20.65, 100.0, 1))


def test_pains_refuse_more_reasons_than_unhappy_answers() -> None:
    with pytest.raises(ValueError, match="0 <= k <= n"):
        sat.pains({spb.REASON_LATE: 3}, unhappy=2)


@pytest.mark.parametrize(
    ("start", "end", "before"),
    [
        (date(2026, 11, 1), date(2026, 11, 30), (date(2026, 10, 2), date(2026, 10, 31))),
        (date(2026, 3, 1), date(2026, 3, 1), (date(2026, 2, 28), date(2026, 2, 28))),
        (date(2026, 1, 5), date(2026, 1, 11), (date(2025, 12, 29), date(2026, 1, 4))),
    ],
)
def test_the_previous_period_has_the_same_days_right_before(
    start: date, end: date, before: tuple[date, date]
) -> None:
    assert sat.previous(start, end) == before


def test_a_period_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="ends on or after its start"):
        sat.previous(date(2026, 11, 2), date(2026, 11, 1))


SCALES = st.sampled_from([CSAT, NPS, CES])


@st.composite
def tallies(draw: st.DrawFn, scale: int) -> Tally:
    low, high = RANGES[scale]
    return tally(scale, draw(st.lists(st.integers(low, high), max_size=60)))


@given(st.data())
def test_figures_lie_within_their_interval_and_the_scale(data: st.DataObject) -> None:
    scale = data.draw(SCALES)
    t = data.draw(tallies(scale))
    f = sat.figure(scale, t)
    if t.n == 0:
        assert f is None
        return
    assert f is not None
    assert f.n == t.n
    assert f.low <= f.value <= f.high
    bounds = {CSAT: (0, 100), NPS: (-100, 100), CES: RANGES[CES]}[scale]
    assert bounds[0] <= f.low
    assert f.high <= bounds[1]
    m = sat.mean(scale, t)
    assert m is not None
    assert RANGES[scale][0] <= m.low <= m.value <= m.high <= RANGES[scale][1]


@given(st.data())
def test_adding_tallies_is_associative_and_counts_every_answer(data: st.DataObject) -> None:
    scale = data.draw(SCALES)
    a, b, c = (data.draw(tallies(scale)) for _ in range(3))
    assert (a + b) + c == a + (b + c)
    assert a + Tally() == a
    assert reduce(Tally.__add__, [a, b, c]).n == a.n + b.n + c.n


@given(st.integers(0, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_shares_lie_within_their_interval(kn: tuple[int, int]) -> None:
    k, n = kn
    f = sat.share(k, n)
    if n == 0:
        assert f is None
        return
    assert f is not None
    assert 0 <= f.low <= f.value <= f.high <= 100
