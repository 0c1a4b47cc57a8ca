"""hooks' survey decisions without I/O: what an SMS reply records and what is said back, for
each text and survey state; the events an answer makes, with the contract's ids; the
landing page's form fields and nonces; the replies' length; the overdue cases' gauge."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from shipnotify import i18n, loop
from shipnotify.hooks import nonces, overdue, survey_forms
from shipnotify.hooks.survey_reply import TEXTS, Decision, decide
from shipnotify.model import feedback_events, sms, survey
from shipnotify.model.feedback_events import Answer
from shipnotify.model.survey import Depot, Rules
from shipnotify.store.feedback import Survey
from shipnotify.v1 import survey_pb2 as spb
from tests.fake_feedback import FakeFeedback, answered, followed_up, sent

RULES = Rules()  # CSAT, unhappy 1-2
FRESH = sent("s-1")
HAPPY = answered(FRESH, 5, unhappy=False, source=spb.ANSWER_SOURCE_SMS)
UNHAPPY = answered(FRESH, 1, unhappy=True, source=spb.ANSWER_SOURCE_SMS)
EXPLAINED = followed_up(UNHAPPY, spb.REASON_LATE, "")
NPS = sent("s-2", scale=spb.SCALE_NPS)


@pytest.mark.parametrize(
    ("asked", "text", "decided"),
    [
        (FRESH, "4", Decision("thanks", score=4)),
        (FRESH, "4 thanks", Decision("thanks", score=4)),
        (FRESH, "  5!!", Decision("thanks", score=5)),
        (FRESH, "I'd say 2", Decision("nothing", score=2, unhappy=True)),
        (FRESH, "1", Decision("nothing", score=1, unhappy=True)),
        (FRESH, "3/5", Decision("help")),  # two numbers
        (FRESH, "great", Decision("help")),
        (FRESH, "", Decision("help")),
        (FRESH, "7", Decision("help")),  # off the scale
        (FRESH, "4.5", Decision("help")),
        (NPS, "10", Decision("thanks", score=10)),
        (NPS, "0", Decision("nothing", score=0, unhappy=True)),
        (NPS, "7", Decision("thanks", score=7)),
        # answered happy: a later score replaces it (the consumer does that)
        (HAPPY, "2", Decision("nothing", score=2, unhappy=True)),
        # answered unhappy, no follow-up yet: the reply is what went wrong
        (UNHAPPY, "1", Decision("follow_up_thanks", follow_up=(spb.REASON_LATE, ""))),
        (
            UNHAPPY,
            "3. the box was wet",
            Decision("follow_up_thanks", follow_up=(spb.REASON_DAMAGED, "the box was wet")),
        ),
        (
            UNHAPPY,
            "nobody called me",
            Decision("follow_up_thanks", follow_up=(spb.REASON_OTHER, "nobody called me")),
        ),
        (UNHAPPY, "5", Decision("follow_up_thanks", follow_up=(spb.REASON_MISSED_DELIVERY, ""))),
        # and once explained, a reply is a score again
        (EXPLAINED, "4", Decision("thanks", score=4)),
        (EXPLAINED, "what?", Decision("help")),
    ],
)
def test_an_sms_reply_records_and_says(asked: Survey, text: str, decided: Decision) -> None:
    assert decide(text, asked, RULES) == decided


def test_the_unhappy_scores_are_the_rules_in_force() -> None:
    strict = Rules(unhappy={spb.SCALE_CSAT: (1, 3), spb.SCALE_NPS: (0, 6), spb.SCALE_CES: (1, 3)})
    assert decide("3", FRESH, RULES) == Decision("thanks", score=3)
    assert decide("3", FRESH, strict) == Decision("nothing", score=3, unhappy=True)


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_the_survey_replies_fit_one_sms_in_every_language(lang: str) -> None:
    for scale, (low, high) in survey.RANGES.items():
        for key in TEXTS.values():
            reply = i18n.text(lang, key).format(low=low, high=high)
            assert reply != key
            assert sms.segments(reply) == 1, (lang, scale, reply)
            if lang != "ru":  # Romanian and English SMS stay in GSM-7
                assert sms.is_gsm7(reply), reply


# -- the events ----------------------------------------------------------------------------------

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
NORTH = Depot(
    "north", "boss@carrier.example", "Europe/Chisinau", datetime.strptime("18:00", "%H:%M").time()
)
WITH_DEPOT = Rules(depots={"north": NORTH})


def test_a_happy_answer_is_one_event() -> None:
    answer = Answer("s-1", "sv-1", spb.SCALE_CSAT, 4, spb.ANSWER_SOURCE_EMAIL)
    [event] = feedback_events.answered("ev-1", answer, RULES, NOW, None)
    assert (event.event_id, event.shipment_id) == ("ev-1", "s-1")
    assert event.occurred_at.ToDatetime(tzinfo=UTC) == NOW
    assert event.recorded_at == event.occurred_at
    assert event.survey_answered.unhappy is False
    assert not event.HasField("case_opened")


def test_an_unhappy_answer_opens_the_case_of_its_survey_due_at_the_depots_closing() -> None:
    answer = Answer("s-1", "sv-1", spb.SCALE_CSAT, 2, spb.ANSWER_SOURCE_SMS)
    events = feedback_events.answered("ev-1", answer, WITH_DEPOT, NOW, ("north", "c-17"))
    assert [e.WhichOneof("body") for e in events] == ["survey_answered", "case_opened"]
    answered_, case = events
    assert answered_.survey_answered.unhappy is True
    assert case.event_id == survey.feedback_event_id("case", "ev-1")
    assert case.shipment_id == "s-1"
    assert case.case_opened.case_id == survey.case_id("sv-1")
    assert case.case_opened.survey_id == "sv-1"
    assert (case.case_opened.depot, case.case_opened.courier_id) == ("north", "c-17")
    # 9:30 UTC is 11:30 in Chisinau (EET): due at 18:00 there, 16:00 UTC
    assert case.case_opened.due_at.ToDatetime(tzinfo=UTC) == NOW.replace(hour=16, minute=0)


def test_a_case_is_due_after_the_set_hours_when_they_are_set() -> None:
    answer = Answer("s-1", "sv-1", spb.SCALE_CSAT, 1, spb.ANSWER_SOURCE_PAGE)
    rules = Rules(depots={"north": NORTH}, callback_hours=4)
    _, case = feedback_events.answered("ev-1", answer, rules, NOW, ("north", ""))
    assert case.case_opened.due_at.ToDatetime(tzinfo=UTC) == NOW + timedelta(hours=4)


def test_an_unhappy_answer_needs_its_shipments_context() -> None:
    answer = Answer("s-1", "sv-1", spb.SCALE_CSAT, 1, spb.ANSWER_SOURCE_SMS)
    with pytest.raises(ValueError, match="depot and courier"):
        feedback_events.answered("ev-1", answer, RULES, NOW, None)


def test_a_follow_up_is_cut_to_500_characters_and_has_an_id_of_its_own() -> None:
    event = feedback_events.followed_up(
        "ev-2", "s-1", "sv-1", spb.REASON_OTHER, "x" * 600, spb.ANSWER_SOURCE_PAGE, NOW
    )
    assert len(event.follow_up_answered.comment) == 500
    assert feedback_events.follow_up_id("sms", "SM1") != survey.feedback_event_id("sms", "SM1")
    assert feedback_events.follow_up_id("page", "s-1", "n") != survey.feedback_event_id(
        "page", "s-1", "n"
    )


# -- the landing page's fields -------------------------------------------------------------------

SECRET = "opt-out-secret"
TOKEN = survey.survey_token(SECRET, "s-1", "sv-1")


def test_a_nonce_is_valid_for_its_own_token_only() -> None:
    nonce = nonces.make(SECRET, TOKEN)
    assert nonces.valid(SECRET, TOKEN, nonce)
    assert nonce != nonces.make(SECRET, TOKEN)  # a new one each page
    other = survey.survey_token(SECRET, "s-1", "sv-2")
    assert not nonces.valid(SECRET, other, nonce)
    assert not nonces.valid(SECRET + "x", TOKEN, nonce)
    random, _, mac = nonce.partition(".")
    for forged in (random, f"{random}.", f".{mac}", f"{random}x.{mac}", "ü.ü", ""):
        assert not nonces.valid(SECRET, TOKEN, forged), forged


@pytest.mark.parametrize(
    ("raw", "scale", "read"),
    [
        ("4", spb.SCALE_CSAT, 4),
        (" 4 ", spb.SCALE_CSAT, 4),
        ("1", spb.SCALE_CSAT, 1),
        ("0", spb.SCALE_CSAT, None),
        ("6", spb.SCALE_CSAT, None),
        ("0", spb.SCALE_NPS, 0),
        ("10", spb.SCALE_NPS, 10),
        ("7", spb.SCALE_CES, 7),
        ("-1", spb.SCALE_NPS, None),
        ("4.0", spb.SCALE_CSAT, None),
        ("four", spb.SCALE_CSAT, None),
        ("", spb.SCALE_CSAT, None),
        (None, spb.SCALE_CSAT, None),
        ("٤", spb.SCALE_CSAT, None),  # (a digit, but not one a form sends)
    ],
)
def test_a_score_field_is_a_whole_number_of_the_scale(
    raw: str | None, scale: int, read: int | None
) -> None:
    found = survey_forms.read_score(raw, scale)
    if read is None:
        assert isinstance(found, survey_forms.Problem)
        low, high = survey.RANGES[scale]
        assert found.say() == f"Choose a score from {low} to {high}."
    else:
        assert found == read


def test_the_answer_form_names_each_field_at_fault() -> None:
    nonce = nonces.make(SECRET, TOKEN)
    assert survey_forms.read_answer(
        {"score": "2", "nonce": nonce}, spb.SCALE_CSAT, SECRET, TOKEN
    ) == survey_forms.AnswerForm(2, nonce)
    problems = survey_forms.read_answer({"score": "9"}, spb.SCALE_CSAT, SECRET, TOKEN)
    assert isinstance(problems, dict)
    assert set(problems) == {"score", "nonce"}
    assert problems["nonce"].say("ro") == "Formularul a expirat. Trimiteți-l din nou."


def test_the_follow_up_form_names_each_field_at_fault() -> None:
    nonce = nonces.make(SECRET, TOKEN)
    read = survey_forms.read_follow_up(
        {"reason": "courier_manner", "comment": " rude\r\nvery ", "nonce": nonce}, SECRET, TOKEN
    )
    assert read == survey_forms.FollowUpForm(spb.REASON_COURIER_MANNER, "rude\nvery", nonce)
    no_comment = survey_forms.read_follow_up({"reason": "other", "nonce": nonce}, SECRET, TOKEN)
    assert no_comment == survey_forms.FollowUpForm(spb.REASON_OTHER, "", nonce)
    problems = survey_forms.read_follow_up(
        {"reason": "REASON_LATE", "comment": "x" * 501, "nonce": nonce}, SECRET, TOKEN
    )
    assert isinstance(problems, dict)
    assert set(problems) == {"reason", "comment"}
    assert problems["comment"].say("ru") == "Напишите не более 500 символов текста."


@pytest.mark.parametrize(
    ("comment", "taken"),
    [
        ("x" * 500, True),
        ("x" * 501, False),
        ("line\r\n" * 100, True),  # 500 characters in a browser's count, 600 as sent
        ("tab\there", True),
        ("bell\x07", False),
        ("esc\x1b[31m", False),
        ("c1\x9b", False),
    ],
)
def test_a_comment_is_500_characters_of_text(comment: str, taken: bool) -> None:
    read = survey_forms.read_comment(comment)
    assert isinstance(read, str) is taken


# -- the overdue cases' gauge --------------------------------------------------------------------


class Flaky(FakeFeedback):
    """Fails its first count (Redis away), then counts."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = 0
        self.thrice = asyncio.Event()

    async def overdue_count(self, now_ms: int) -> int:
        self.asked += 1
        if self.asked == 3:
            self.thrice.set()
        if self.asked == 1:
            raise ConnectionError("redis away")
        return 5 + self.asked


async def test_the_gauge_is_refreshed_on_and_on_and_survives_a_failure() -> None:
    feedback = Flaky()
    gauge = "shipnotify_callback_cases_overdue"
    async with loop.every(0.01, lambda: overdue.refresh_safely(feedback)):
        await asyncio.wait_for(feedback.thrice.wait(), timeout=5)
    assert REGISTRY.get_sample_value(gauge) == 5 + feedback.asked
