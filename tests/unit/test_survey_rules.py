"""The survey loop's rules as pure functions: scales and thresholds, reading replies, the
throttle, when a survey goes and when a case falls due, and the ids and link tokens."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from shipnotify.config import ConfigError, Settings
from shipnotify.model import survey
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import survey_pb2 as spb

CSAT, NPS, CES = spb.SCALE_CSAT, spb.SCALE_NPS, spb.SCALE_CES


@pytest.mark.parametrize(
    ("scale", "unhappy", "happy"),
    [
        (CSAT, [1, 2], [3, 4, 5]),
        (NPS, [0, 1, 2, 3, 4, 5, 6], [7, 8, 9, 10]),
        (CES, [1, 2, 3], [4, 7]),
    ],
)
def test_the_default_thresholds_of_each_scale(
    scale: int, unhappy: list[int], happy: list[int]
) -> None:
    rules = Settings().survey_rules()
    assert [s for s in unhappy + happy if rules.is_unhappy(scale, s)] == unhappy


def test_the_thresholds_are_settings_per_scale() -> None:
    rules = Settings(survey_unhappy_csat="1-3", survey_unhappy_nps="0-4").survey_rules()
    assert rules.is_unhappy(CSAT, 3)
    assert not rules.is_unhappy(CSAT, 4)
    assert rules.is_unhappy(NPS, 4)
    assert not rules.is_unhappy(NPS, 5)
    assert rules.is_unhappy(CES, 3)  # its default
    assert Settings(survey_scale="nps").survey_rules().scale == NPS


@pytest.mark.parametrize("bad", ["0-2", "1-6", "3-2", "two", "", "1-2-3"])
def test_a_threshold_off_its_scale_stops_the_service(bad: str) -> None:
    with pytest.raises(ConfigError, match="SHIPNOTIFY_SURVEY_UNHAPPY_CSAT"):
        Settings(survey_unhappy_csat=bad)


@pytest.mark.parametrize(
    ("reply", "scale", "score"),
    [
        ("4", CSAT, 4),
        ("4 thanks", CSAT, 4),
        ("I'd say 2", CSAT, 2),
        ("  5!!", CSAT, 5),
        ("Оценка 3, спасибо", CSAT, 3),
        ("10", NPS, 10),
        ("0", NPS, 0),
        ("7 - easy", CES, 7),
    ],
)
def test_a_reply_with_one_score_on_the_scale_is_read(reply: str, scale: int, score: int) -> None:
    assert survey.read_score(reply, scale) == score


@pytest.mark.parametrize(
    ("reply", "scale"),
    [
        ("great", CSAT),
        ("", CSAT),
        ("6", CSAT),  # off the scale
        ("0", CSAT),
        ("11", NPS),
        ("between 3 and 4", CSAT),  # two scores: which one?
        ("3.5", CSAT),
        ("123", NPS),
        ("8", CES),
    ],
)
def test_a_reply_without_exactly_one_score_on_the_scale_is_not_read(reply: str, scale: int) -> None:
    assert survey.read_score(reply, scale) is None


@pytest.mark.parametrize(
    ("reply", "reason", "comment"),
    [
        ("1", spb.REASON_LATE, ""),
        ("2", spb.REASON_NOT_INFORMED, ""),
        ("3 box was crushed", spb.REASON_DAMAGED, "box was crushed"),
        ("4. rude", spb.REASON_COURIER_MANNER, "rude"),
        ("5", spb.REASON_MISSED_DELIVERY, ""),
        ("6", spb.REASON_OTHER, ""),
        ("nobody came  at all", spb.REASON_OTHER, "nobody came at all"),
        ("7", spb.REASON_OTHER, "7"),  # no seventh reason: kept as words
    ],
)
def test_a_follow_up_reply_names_a_reason_by_its_number_or_in_words(
    reply: str, reason: int, comment: str
) -> None:
    assert survey.read_reason(reply) == (reason, comment)


def test_a_follow_up_comment_is_cut_to_its_limit() -> None:
    _, comment = survey.read_reason("x" * 900)
    assert len(comment) == survey.MAX_COMMENT


def test_depots_are_read_with_a_catch_all() -> None:
    depots = survey.parse_depots("north=a@x.example Europe/Chisinau 18:00; *=b@x.example UTC 17:30")
    assert depots["north"] == survey.Depot("north", "a@x.example", "Europe/Chisinau", time(18))
    assert survey.depot_of(depots, "north") is depots["north"]
    assert survey.depot_of(depots, "south") is depots["*"]
    assert survey.depot_of(survey.parse_depots("north=a@x.example UTC 18:00"), "south") is None


def test_a_case_is_due_at_the_end_of_its_depots_day() -> None:
    north = survey.Depot("north", "a@x.example", "Europe/Chisinau", time(18))
    morning = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # 10:00 in Chisinau
    assert survey.case_due(morning, north, 0) == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
    # within the day's last hour, or after closing: the end of the next day
    late = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # 17:30 there
    assert survey.case_due(late, north, 0) == datetime(2026, 12, 2, 16, 0, tzinfo=UTC)
    night = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
    assert survey.case_due(night, north, 0) == datetime(2026, 12, 2, 16, 0, tzinfo=UTC)


def test_set_callback_hours_win_over_the_depots_day() -> None:
    north = survey.Depot("north", "a@x.example", "UTC", time(18))
    opened = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert survey.case_due(opened, north, 4) == opened + timedelta(hours=4)
    assert survey.case_due(opened, None, 0) == opened + timedelta(hours=8)


def test_ids_are_the_same_for_the_same_thing_and_apart_for_another() -> None:
    sender = survey.survey_id("ev-1", npb.PARTY_ROLE_SENDER)
    assert sender == survey.survey_id("ev-1", npb.PARTY_ROLE_SENDER)
    assert sender != survey.survey_id("ev-1", npb.PARTY_ROLE_RECIPIENT)
    assert sender != survey.survey_id("ev-2", npb.PARTY_ROLE_SENDER)
    assert (
        survey.page_survey_id("s-1") == survey.page_survey_id("s-1") != survey.page_survey_id("s-2")
    )
    assert survey.case_id(sender) != sender
    kinds = {survey.notice_id(sender, k) for k in ("survey", "follow_up", "apology", "alert")}
    assert len(kinds) == 4
    assert survey.feedback_event_id("sms", "SM1") == survey.feedback_event_id("sms", "SM1")
    assert survey.feedback_event_id("sms", "SM1") != survey.feedback_event_id("sms", "SM2")


def test_a_link_token_names_its_survey_and_cannot_be_forged() -> None:
    token = survey.survey_token("secret", "ship/ment-1", "sv-1")
    assert survey.read_token("secret", token) == ("ship/ment-1", "sv-1")
    assert survey.read_token("another secret", token) is None
    body, _, mac = token.partition(".")
    forged = survey.survey_token("secret", "other", "sv-1").partition(".")[0] + "." + mac
    assert survey.read_token("secret", forged) is None
    for junk in ("", ".", "x", "x.y", body + ".", "!!!.???"):
        assert survey.read_token("secret", junk) is None
    link = survey.survey_link("https://hooks.carrier.example/", token, 4)
    assert link == f"https://hooks.carrier.example/s/{token}?score=4"
