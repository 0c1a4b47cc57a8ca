"""SMS replies to a survey, through hooks' signed inbound webhook (the twilio library's
RequestValidator) onto the real feedback topic: a score in the words people write, an
unhappy one opening its case in the same append, the one help reply to an unreadable reply,
STOP during a survey, and the follow-up. The surveys are a FakeFeedback's (the tracker's
consumer keeps the real ones)."""

from __future__ import annotations

from datetime import UTC

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from shipnotify.config import Settings
from shipnotify.model import survey
from shipnotify.model.feedback_events import follow_up_id
from shipnotify.model.quiet import zone_of
from shipnotify.store.keys import survey_help_key
from shipnotify.store.notices import NoticeBook
from shipnotify.v1 import feedback_pb2 as fpb
from shipnotify.v1 import survey_pb2 as spb
from tests.fake_feedback import DAY_MS, answered, followed_up, sent

from .conftest import unique
from .survey_hooks import Hooks, hooks, reply_of

__all__ = ["hooks"]  # the fixture
PHONE = "+37369000111"
DEPOT = "north"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A depot whose supervisor gets the call-backs, closing at 18:00 in Chisinau."""
    return settings.with_(depots=f"{DEPOT}=boss@carrier.example Europe/Chisinau 18:00")


def answers_counted(source: str, unhappy: str) -> float:
    value = REGISTRY.get_sample_value(
        "shipnotify_survey_answers_total", {"source": source, "unhappy": unhappy}
    )
    return value or 0.0


@pytest.mark.parametrize("body", ["4", "4 thanks", " 4! "])
async def test_a_happy_score_is_recorded_and_thanked(hooks: Hooks, body: str) -> None:
    asked = hooks.feedback.put(sent(unique("sms"), address=PHONE))
    counted = answers_counted("sms", "false")
    status, twiml = await hooks.sms(PHONE, body, sid="SMhappy1")
    assert status == 200
    assert reply_of(twiml) == "Thank you for your answer!"
    [event] = await hooks.appended()
    assert event.event_id == survey.feedback_event_id("sms", "SMhappy1")
    assert event.shipment_id == asked.shipment_id
    assert event.WhichOneof("body") == "survey_answered"
    assert event.survey_answered == fpb.SurveyAnswered(
        survey_id=asked.survey_id,
        scale=spb.SCALE_CSAT,
        score=4,
        source=spb.ANSWER_SOURCE_SMS,
        unhappy=False,
    )
    assert event.occurred_at.seconds
    assert event.recorded_at == event.occurred_at
    assert answers_counted("sms", "false") == counted + 1


async def test_an_unhappy_score_opens_its_case_in_the_same_append_and_gets_no_reply(
    hooks: Hooks,
) -> None:
    asked = hooks.feedback.put(sent(unique("sms"), address=PHONE, locale="ro"))
    hooks.feedback.contexts[asked.shipment_id] = (DEPOT, "c-17")
    status, twiml = await hooks.sms(PHONE, "I'd say 2", sid="SMsad1")
    assert (status, reply_of(twiml)) == (200, None)  # the follow-up and apology are the tracker's
    answer, case = await hooks.appended()
    answer_id = survey.feedback_event_id("sms", "SMsad1")
    assert answer.event_id == answer_id
    assert answer.survey_answered.score == 2
    assert answer.survey_answered.unhappy
    assert case.event_id == survey.feedback_event_id("case", answer_id)
    assert case.shipment_id == asked.shipment_id
    opened = case.case_opened
    assert (opened.case_id, opened.survey_id) == (survey.case_id(asked.survey_id), asked.survey_id)
    assert (opened.depot, opened.courier_id) == (DEPOT, "c-17")
    rules = hooks.settings.survey_rules()
    at = case.occurred_at.ToDatetime(tzinfo=UTC)  # when hooks took the answer
    due = survey.case_due(at, survey.depot_of(rules.depots, DEPOT), rules.callback_hours)
    assert opened.due_at.ToDatetime(tzinfo=UTC) == due
    assert due.astimezone(zone_of("Europe/Chisinau")).strftime("%H:%M") == "18:00"


async def test_an_unreadable_reply_gets_one_help_reply_in_the_surveys_language(
    hooks: Hooks, redis: Redis
) -> None:
    asked = hooks.feedback.put(sent(unique("sms"), address=PHONE, locale="ru-MD"))
    status, first = await hooks.sms(PHONE, "отлично")
    assert (status, reply_of(first)) == (200, "Пожалуйста, ответьте числом от 1 до 5.")
    status, second = await hooks.sms(PHONE, "спасибо, всё хорошо")
    assert (status, reply_of(second)) == (200, None)
    assert await hooks.appended() == []
    # the claim lasts as long as the survey takes answers (sent a minute ago)
    left_ms = await redis.pttl(survey_help_key(asked.survey_id))
    window_ms = hooks.settings.survey_answer_days * DAY_MS
    assert window_ms - 120_000 < left_ms <= window_ms - 60_000


async def test_two_numbers_or_one_off_the_scale_are_unreadable(hooks: Hooks) -> None:
    hooks.feedback.put(sent(unique("sms"), address=PHONE))
    _, first = await hooks.sms(PHONE, "between 3 and 4")
    assert reply_of(first) == "Please reply with a number from 1 to 5."
    _, second = await hooks.sms(PHONE, "9")
    assert reply_of(second) is None
    assert await hooks.appended() == []


async def test_an_nps_survey_reads_its_own_scale(hooks: Hooks) -> None:
    asked = hooks.feedback.put(sent(unique("sms"), address=PHONE, scale=spb.SCALE_NPS))
    _, twiml = await hooks.sms(PHONE, "10", sid="SMnps")
    assert reply_of(twiml) == "Thank you for your answer!"
    [event] = await hooks.appended()
    assert (event.survey_answered.scale, event.survey_answered.score) == (spb.SCALE_NPS, 10)
    assert event.survey_answered.survey_id == asked.survey_id


async def test_stop_during_a_survey_opts_out_and_records_no_answer(
    hooks: Hooks, redis: Redis
) -> None:
    hooks.feedback.put(sent(unique("sms"), address=PHONE))
    book = NoticeBook(
        redis, hooks.settings.notifications_topic, opt_out_secret=hooks.settings.opt_out_secret
    )
    status, twiml = await hooks.sms(PHONE, "STOP")
    assert status == 200
    assert reply_of(twiml) == "You will get no more SMS from us. Reply START to get them again."
    assert await book.opted_out(PHONE)
    assert await hooks.appended() == []


async def test_the_reply_after_an_unhappy_answer_is_the_follow_up(hooks: Hooks) -> None:
    asked = sent(unique("sms"), address=PHONE, locale="ru")
    asked = hooks.feedback.put(answered(asked, 1, unhappy=True, source=spb.ANSWER_SOURCE_SMS))
    status, twiml = await hooks.sms(PHONE, "1 опоздал на два часа", sid="SMwhy")
    assert (status, reply_of(twiml)) == (200, "Спасибо, что рассказали. Мы во всём разберёмся.")
    [event] = await hooks.appended()
    assert event.event_id == follow_up_id("sms", "SMwhy")
    assert event.shipment_id == asked.shipment_id
    assert event.follow_up_answered == fpb.FollowUpAnswered(
        survey_id=asked.survey_id,
        reason=spb.REASON_LATE,
        comment="опоздал на два часа",
        source=spb.ANSWER_SOURCE_SMS,
    )


async def test_after_the_follow_up_a_reply_is_a_new_score(hooks: Hooks) -> None:
    asked = sent(unique("sms"), address=PHONE)
    asked = answered(asked, 1, unhappy=True, source=spb.ANSWER_SOURCE_SMS)
    hooks.feedback.put(followed_up(asked, spb.REASON_DAMAGED, ""))
    _, twiml = await hooks.sms(PHONE, "4", sid="SMbetter")
    assert reply_of(twiml) == "Thank you for your answer!"
    [event] = await hooks.appended()
    assert event.survey_answered.score == 4  # the consumer replaces the first answer with it


async def test_a_reply_redelivered_by_the_provider_is_the_same_event(hooks: Hooks) -> None:
    hooks.feedback.put(sent(unique("sms"), address=PHONE))
    for _ in range(2):
        status, _ = await hooks.sms(PHONE, "5", sid="SMtwice")
        assert status == 200
    first, again = await hooks.appended()
    assert first.event_id == again.event_id == survey.feedback_event_id("sms", "SMtwice")


async def test_a_number_with_no_survey_gets_the_help_text(hooks: Hooks) -> None:
    status, twiml = await hooks.sms("+37369000999", "4")
    assert status == 200
    assert reply_of(twiml) == "Shipment notices. Reply STOP to end them, START to get them again."
    assert await hooks.appended() == []


async def test_a_survey_past_its_window_takes_no_reply(hooks: Hooks) -> None:
    window_ms = hooks.settings.survey_answer_days * DAY_MS
    hooks.feedback.put(sent(unique("sms"), address=PHONE, sent_ms_ago=window_ms + 1000))
    _, twiml = await hooks.sms(PHONE, "4")
    assert reply_of(twiml) == "Shipment notices. Reply STOP to end them, START to get them again."
    assert await hooks.appended() == []
