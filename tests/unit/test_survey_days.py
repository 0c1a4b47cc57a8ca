"""A survey's part of the per-day figures, and the cells read back (model/survey_days.py)."""

from __future__ import annotations

import random
from datetime import date, datetime
from zoneinfo import ZoneInfo

from shipnotify.model.survey_days import SurveyFact, cells, combined, field, part
from shipnotify.store.survey_days import plan
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import survey_pb2 as spb

ZONE = ZoneInfo("Europe/Chisinau")
CSAT = spb.SCALE_CSAT


def fact(**changed: object) -> SurveyFact:
    at = datetime(2026, 11, 27, 18, 40, tzinfo=ZONE)  # a Friday evening
    given: dict[str, object] = {
        "survey_id": "sv-1",
        "delivered_at_ms": int(at.timestamp() * 1000),
        "party": npb.PARTY_ROLE_RECIPIENT,
        "channel": "sms",
        "scale": CSAT,
        "sent": True,
        "score": 2,
        "unhappy": True,
        "reason": spb.REASON_LATE,
        "depot": "north",
        "courier": "c-7",
        "account": "",
    }
    return SurveyFact(**{**given, **changed})  # type: ignore[arg-type]


def test_an_answer_counts_in_every_cut_on_its_deliverys_day_weekday_and_hour() -> None:
    day, counts = part(fact(), ZONE)
    assert day == date(2026, 11, 27)
    assert counts == {
        "all": {f"{CSAT}|*|s": 1, f"{CSAT}|*|2": 1, f"{CSAT}|*|u": 1},
        "depot": {f"{CSAT}|north|s": 1, f"{CSAT}|north|2": 1, f"{CSAT}|north|u": 1},
        "courier": {f"{CSAT}|c-7|s": 1, f"{CSAT}|c-7|2": 1, f"{CSAT}|c-7|u": 1},
        "channel": {f"{CSAT}|sms|s": 1, f"{CSAT}|sms|2": 1, f"{CSAT}|sms|u": 1},
        "party": {f"{CSAT}|recipient|s": 1, f"{CSAT}|recipient|2": 1, f"{CSAT}|recipient|u": 1},
        "hour": {f"{CSAT}|4:18|s": 1, f"{CSAT}|4:18|2": 1, f"{CSAT}|4:18|u": 1},
        "reason": {f"{CSAT}|{spb.REASON_LATE}|u": 1},
    }


def test_the_day_is_the_carriers_not_utcs() -> None:
    late = datetime(2026, 11, 28, 0, 30, tzinfo=ZONE)  # 22:30 UTC the day before
    day, counts = part(fact(delivered_at_ms=int(late.timestamp() * 1000)), ZONE)
    assert day == date(2026, 11, 28)
    assert f"{CSAT}|5:0|s" in counts["hour"]


def test_a_survey_sent_and_unanswered_counts_as_sent_alone() -> None:
    _, counts = part(fact(score=None, unhappy=False, reason=0, depot="", courier=""), ZONE)
    assert counts["all"] == {f"{CSAT}|*|s": 1}
    assert counts["depot"] == {f"{CSAT}|-|s": 1}  # nobody named a depot
    assert "reason" not in counts


def test_a_happy_answer_counts_no_reason_and_a_page_answer_was_never_sent() -> None:
    _, counts = part(fact(score=5, unhappy=False, sent=False, channel="page", party=0), ZONE)
    assert counts["channel"] == {f"{CSAT}|page|5": 1}
    assert counts["party"] == {f"{CSAT}|-|5": 1}
    assert "reason" not in counts


def test_cells_sum_the_days_of_one_scale() -> None:
    days = [
        {f"{CSAT}|north|5": 2, f"{CSAT}|north|s": 3, f"{spb.SCALE_NPS}|north|9": 1},
        {f"{CSAT}|north|1": 1, f"{CSAT}|north|u": 1, f"{CSAT}|north|s": 1, f"{CSAT}|south|4": 0},
    ]
    found = cells(days, CSAT)
    assert set(found) == {"north"}  # a count taken back to 0 is no cell
    north = found["north"]
    assert (north.scores, north.unhappy, north.sent, north.answers) == ({5: 2, 1: 1}, 1, 4, 3)
    assert cells(days, spb.SCALE_NPS)["north"].scores == {9: 1}


def test_cells_read_apart_and_combined_are_the_cells_read_together() -> None:
    rng = random.Random(7)
    names = [
        field(scale, cell, measure)
        for scale in (CSAT, spb.SCALE_NPS)
        for cell in ("north", "south", "c-1", "-")
        for measure in ("s", "u", "1", "2", "5", "9")
    ]

    def counts() -> dict[bytes, bytes]:  # as Redis answers: bytes
        return {n.encode(): str(rng.randint(0, 3)).encode() for n in rng.sample(names, 12)}

    for _ in range(200):
        plus = [counts() for _ in range(rng.randint(1, 4))]
        minus = [
            {name: n for name, n in rng.choice(plus).items() if rng.random() < 0.7}
            for _ in range(rng.randint(0, 2))
        ]
        for scale in (CSAT, spb.SCALE_NPS):
            parts = [(1, cells([h], scale)) for h in plus] + [
                (-1, cells([h], scale)) for h in minus
            ]
            assert combined(parts) == cells(plus, scale, minus=minus)


def test_a_period_reads_whole_months_and_the_fewest_days() -> None:
    oldest = date(2025, 1, 1)
    assert plan(date(2026, 11, 1), date(2026, 11, 30), oldest) == (["2026-11"], [])
    assert plan(date(2026, 11, 27), date(2026, 12, 2), oldest) == (
        ["2026-11-27", "2026-11-28", "2026-11-29", "2026-11-30", "2026-12-01", "2026-12-02"],
        [],
    )
    # most of a month: the month less the days out of the period
    plus, minus = plan(date(2026, 10, 3), date(2026, 12, 2), oldest)
    assert plus == ["2026-10", "2026-11", "2026-12-01", "2026-12-02"]
    assert minus == ["2026-10-01", "2026-10-02"]
    # a year: at most a month's hash and a handful of days at each end
    plus, minus = plan(date(2025, 12, 3), date(2026, 12, 2), oldest)
    assert len(plus) + len(minus) <= 12 + 2 + 2 + 1


def test_days_gone_from_redis_are_never_taken_from_their_month() -> None:
    plus, minus = plan(date(2025, 10, 3), date(2025, 11, 30), oldest=date(2025, 10, 3))
    assert minus == []  # 1 and 2 October are gone: the days in are read instead
    assert plus[0] == "2025-10-03"
    assert plus[-1] == "2025-11"
