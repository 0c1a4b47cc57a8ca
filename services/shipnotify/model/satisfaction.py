"""Satisfaction figures with their 95% intervals, as the console shows them: the headline
figure of a scale's answers (CSAT, NPS, CES), shares and means, whether a cut lies below or
above the overall figure, the follow-up reasons ranked, and the period to compare with.
No I/O here."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import NormalDist

from shipnotify.model.survey import RANGES, REASONS, in_scale
from shipnotify.v1 import survey_pb2 as spb

# The good and the bad scores of each scale: satisfied and dissatisfied (CSAT), promoters
# and detractors (NPS), easy and hard (CES).
KINDS: Mapping[int, tuple[tuple[int, int], tuple[int, int]]] = {
    spb.SCALE_CSAT: ((4, 5), (1, 2)),
    spb.SCALE_NPS: ((9, 10), (0, 6)),
    spb.SCALE_CES: ((5, 7), (1, 3)),
}
# A cut with fewer answers is never marked below or above: its interval alone does not keep
# it quiet (Wilson's upper bound for 0 good of 1 is 79.4%; equal scores give a t interval no
# width).
MIN_ANSWERS = 5
Z = NormalDist().inv_cdf(0.975)
# Student's t, 97.5% quantile, df 1..30: the standard table's values.
_T = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


@dataclass(frozen=True)
class Tally:
    """The answers of one cut, summed: a cut's tally is the sum of its days' and hours'."""

    n: int = 0
    total: int = 0  # the sum of the scores
    squares: int = 0  # the sum of the squared scores
    good: int = 0
    bad: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.n + other.n,
            self.total + other.total,
            self.squares + other.squares,
            self.good + other.good,
            self.bad + other.bad,
        )

    @classmethod
    def of(cls, scale: int, score: int) -> Tally:
        if not in_scale(scale, score):
            low, high = RANGES[scale]
            raise ValueError(f"score {score} lies outside the scale's {low}-{high}")
        (good_low, good_high), (bad_low, bad_high) = KINDS[scale]
        return cls(
            1,
            score,
            score * score,
            int(good_low <= score <= good_high),
            int(bad_low <= score <= bad_high),
        )


@dataclass(frozen=True)
class Figure:
    value: float
    low: float  # the 95% interval
    high: float
    n: int  # the answers it stands on


@dataclass(frozen=True)
class Pain:
    reason: int  # a survey_pb2.Reason
    count: int
    share: Figure  # of the unhappy answers, in percent


def figure(scale: int, tally: Tally) -> Figure | None:
    """The scale's headline figure: CSAT the percentage of good answers, NPS promoters' minus
    detractors' percentage, CES the mean score."""
    if scale == spb.SCALE_CSAT:
        return share(tally.good, tally.n)
    if scale == spb.SCALE_NPS:
        return _net(tally)
    return mean(scale, tally)


def share(k: int, n: int) -> Figure | None:
    """k of n in percent, with the Wilson score interval."""
    if not 0 <= k <= n:
        raise ValueError(f"a share needs 0 <= k <= n, not {k} of {n}")
    if n == 0:
        return None
    p, z2 = k / n, Z * Z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # the interval always holds p; the bounds only keep rounding (0 or n of n) from leaving it
    low, high = min(p, max(0.0, centre - half)), max(p, min(1.0, centre + half))
    return Figure(100 * p, 100 * low, 100 * high, n)


def mean(scale: int, tally: Tally) -> Figure | None:
    """The mean score with Student's t interval, within the scale's range (one answer: the
    whole range)."""
    if tally.n == 0:
        return None
    low, high = RANGES[scale]
    value = tally.total / tally.n
    if tally.n == 1:
        return Figure(value, low, high, 1)
    # n * sum(x^2) - (sum x)^2 in integers: never below 0, unlike the float difference.
    variance = (tally.n * tally.squares - tally.total**2) / (tally.n * (tally.n - 1))
    half = t_quantile(tally.n - 1) * math.sqrt(variance / tally.n)
    return Figure(value, max(low, value - half), min(high, value + half), tally.n)


def _net(tally: Tally) -> Figure | None:
    # The variance of p+ - p- for one multinomial sample, (p+ + p- - (p+ - p-)^2) / n, with
    # the normal approximation; the bounds clipped to [-100, 100].
    if tally.n == 0:
        return None
    promoters, detractors = tally.good / tally.n, tally.bad / tally.n
    net = promoters - detractors
    half = Z * math.sqrt(max(0.0, promoters + detractors - net * net) / tally.n)
    return Figure(
        100 * net, max(-100.0, 100 * (net - half)), min(100.0, 100 * (net + half)), tally.n
    )


def t_quantile(df: int) -> float:
    """Student's t 97.5% quantile: the table to 30 degrees of freedom, then the
    Cornish-Fisher expansion around the normal's (Abramowitz and Stegun 26.7.5)."""
    if df < 1:
        raise ValueError("a t quantile needs at least 1 degree of freedom")
    if df <= len(_T):
        return _T[df - 1]
    z = Z
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def below(cell: Figure, overall: Figure) -> bool:
    """The whole interval lies below the overall figure, on enough answers."""
    return cell.n >= MIN_ANSWERS and cell.high < overall.value


def above(cell: Figure, overall: Figure) -> bool:
    return cell.n >= MIN_ANSWERS and cell.low > overall.value


def pains(reasons: Mapping[int, int], unhappy: int) -> list[Pain]:
    """The follow-up reasons by their count among the unhappy answers, most first (ties in the
    order they are offered), each with its share; reasons nobody gave left out."""
    place: dict[int, int] = {reason: i for i, reason in enumerate(REASONS)}
    ranked = sorted(
        ((r, c) for r, c in reasons.items() if c),
        key=lambda rc: (-rc[1], place.get(rc[0], len(REASONS))),
    )
    out = []
    for reason, count in ranked:
        part = share(count, unhappy)
        assert part is not None  # count > 0, so unhappy > 0
        out.append(Pain(reason, count, part))
    return out


def previous(start: date, end: date) -> tuple[date, date]:
    """The period of the same length right before start..end (both days included)."""
    if end < start:
        raise ValueError(f"a period ends on or after its start, not {start}..{end}")
    days = end - start + timedelta(days=1)
    return start - days, end - days
