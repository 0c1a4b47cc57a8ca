"""A console view's filters from its query (console/filters.py): defaults, problems named by
their field, a team member held to their own account."""

from __future__ import annotations

from datetime import date

from shipnotify.console.filters import filters
from shipnotify.v1 import survey_pb2 as spb

TODAY = date(2026, 12, 2)


def test_by_default_the_30_days_to_today_every_account_and_csat() -> None:
    chosen = filters({}, today=TODAY, keep_days=400, own_account="")
    assert (chosen.period.first, chosen.period.last) == (date(2026, 11, 3), TODAY)
    assert (chosen.account, chosen.scale, chosen.problems) == ("", spb.SCALE_CSAT, {})
    assert (chosen.period.before.first, chosen.period.before.last) == (
        date(2026, 10, 4),
        date(2026, 11, 2),
    )


def test_a_period_account_and_scale_asked_for() -> None:
    query = {"from": "2026-11-01", "to": "2026-11-07", "account": "acct_1", "scale": "nps"}
    chosen = filters(query, today=TODAY, keep_days=400, own_account="")
    assert (chosen.period.first, chosen.period.days) == (date(2026, 11, 1), 7)
    assert (chosen.account, chosen.scale, chosen.scale_name) == ("acct_1", spb.SCALE_NPS, "nps")


def test_each_problem_is_named_by_its_field_and_the_defaults_shown() -> None:
    cases = [
        ({"from": "2026-02-30"}, {"from": "console.bad_date"}),
        ({"from": "2026-11-10", "to": "2026-11-01"}, {"to": "console.to_before_from"}),
        ({"from": "2024-01-01"}, {"from": "console.too_long"}),
        ({"to": "2027-01-01"}, {"to": "console.in_future"}),
        ({"account": "a b"}, {"account": "console.bad_account"}),
        ({"scale": "stars"}, {"scale": "console.bad_scale"}),
    ]
    for query, problems in cases:
        chosen = filters(query, today=TODAY, keep_days=400, own_account="")
        assert dict(chosen.problems) == problems, query
        assert chosen.period.last == TODAY
        assert chosen.account == ""


def test_a_team_member_sees_their_own_account_whatever_is_asked() -> None:
    chosen = filters({"account": "acct_other"}, today=TODAY, keep_days=400, own_account="acct_1")
    assert chosen.account == "acct_1"
