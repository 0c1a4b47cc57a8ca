"""What becomes of a notice (notifier/decision.py), rule by rule, without Redis, Kafka or a
provider: each decision is a function of the notice, what the book holds, the provider's
answer and the time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shipnotify.config import Settings
from shipnotify.model.quiet import parse_window
from shipnotify.model.webhooks import Schedule
from shipnotify.notifier import decision
from shipnotify.notifier.breaker import Breaker
from shipnotify.notifier.decision import (
    AlreadySent,
    Defer,
    Final,
    GiveUp,
    Go,
    LookAgain,
    Retry,
    Rules,
    Send,
    Wait,
    Went,
)
from shipnotify.notifier.outcomes import Failed, Sent
from shipnotify.store.notices import CANCELLED, Claim, SmsGate
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb

RULES = Rules(
    quiet=parse_window("21:00-08:00"),
    retry_first_s=2.0,
    retry_max_delay_s=300.0,
    retry_max_age_s=3600.0,
)
NOON = int(datetime(2026, 3, 10, 12, 0, tzinfo=UTC).timestamp() * 1000)
NIGHT = int(datetime(2026, 3, 10, 23, 30, tzinfo=UTC).timestamp() * 1000)
MORNING = int(datetime(2026, 3, 11, 8, 0, tzinfo=UTC).timestamp() * 1000)
OPEN = SmsGate(opted_out=False, later_deferred=False, erased=False)
SMS, EMAIL, PUSH = pb.CHANNEL_SMS, pb.CHANNEL_EMAIL, pb.CHANNEL_PUSH
ADDRESSES = {SMS: "+40721234567", EMAIL: "a@example.com", PUSH: "https://push.example/s/1"}


def job(channel: pb.Channel = SMS, *, planned_ms: int = NOON) -> npb.NotificationJob:
    j = npb.NotificationJob(
        notification_id="0b7c1f5e-7d6a-5b1e-9f3a-2c4d6e8f0a1b",
        shipment_id="s-1",
        channel=channel,
        address=ADDRESSES[channel],
        time_zone="UTC",
    )
    j.planned_at.FromMilliseconds(planned_ms)
    return j


def taken_up(
    notice: npb.NotificationJob,
    *,
    gate: SmsGate | None = OPEN,
    now_ms: int = NOON,
    paused_s: float = 0.0,
    has_sender: bool = True,
) -> decision.Final | Defer | Wait | Retry | Go:
    return decision.before_claim(
        notice, has_sender=has_sender, gate=gate, paused_s=paused_s, now_ms=now_ms, rules=RULES
    )


# -- when a notice is taken up ------------------------------------------------------------


@pytest.mark.parametrize("channel", [SMS, EMAIL, PUSH])
def test_a_channel_without_a_sender_is_rejected(channel: pb.Channel) -> None:
    assert taken_up(job(channel), gate=None, has_sender=False) == Final(
        "rejected", reason="no sender for this channel"
    )


@pytest.mark.parametrize("channel", [SMS, PUSH])
def test_an_sms_or_push_is_not_decided_on_without_its_gate(channel: pb.Channel) -> None:
    with pytest.raises(ValueError, match="what the book holds"):
        taken_up(job(channel), gate=None)


@pytest.mark.parametrize(
    ("gate", "state"),
    [
        (SmsGate(opted_out=True, later_deferred=True, erased=True), "cancelled"),
        (SmsGate(opted_out=False, later_deferred=False, erased=True), "cancelled"),
        (SmsGate(opted_out=True, later_deferred=True, erased=False), "opted_out"),
        (SmsGate(opted_out=False, later_deferred=True, erased=False), "superseded"),
    ],
)
def test_an_sms_that_must_not_go_is_skipped_even_at_night_or_paused(
    gate: SmsGate, state: str
) -> None:
    for now, paused in ((NOON, 0.0), (NIGHT, 0.0), (NOON, 5.0)):
        assert taken_up(job(), gate=gate, now_ms=now, paused_s=paused) == Final(
            state, tally="skipped"
        )


def test_an_sms_at_night_waits_for_the_morning_in_its_contacts_zone() -> None:
    assert taken_up(job(), now_ms=NIGHT) == Defer(MORNING)
    assert taken_up(job(), now_ms=NIGHT, paused_s=5.0) == Defer(MORNING)  # before any pause
    in_chisinau = job()
    in_chisinau.time_zone = "Europe/Chisinau"  # 06:00 UTC there: 08:00 local
    morning_there = int(datetime(2026, 3, 11, 6, 0, tzinfo=UTC).timestamp() * 1000)
    assert taken_up(in_chisinau, now_ms=NIGHT) == Defer(morning_there)


def test_a_push_at_night_waits_for_the_morning_and_only_the_latest_goes() -> None:
    assert taken_up(job(PUSH), now_ms=NIGHT) == Defer(MORNING)
    in_chisinau = job(PUSH)
    in_chisinau.time_zone = "Europe/Chisinau"
    morning_there = int(datetime(2026, 3, 11, 6, 0, tzinfo=UTC).timestamp() * 1000)
    assert taken_up(in_chisinau, now_ms=NIGHT) == Defer(morning_there)
    later = SmsGate(opted_out=False, later_deferred=True, erased=False)
    assert taken_up(job(PUSH), gate=later, now_ms=MORNING) == Final("superseded", tally="skipped")


def test_quiet_hours_are_not_for_email_and_can_be_turned_off() -> None:
    assert taken_up(job(EMAIL), gate=None, now_ms=NIGHT) == Go()
    no_quiet = Rules(None, RULES.retry_first_s, RULES.retry_max_delay_s, RULES.retry_max_age_s)
    assert (
        decision.before_claim(
            job(), has_sender=True, gate=OPEN, paused_s=0.0, now_ms=NIGHT, rules=no_quiet
        )
        == Go()
    )


@pytest.mark.parametrize("channel", [SMS, EMAIL, PUSH])
def test_a_paused_channel_retries_after_its_pause_spread_out(channel: pb.Channel) -> None:
    gate = None if channel == EMAIL else OPEN
    assert taken_up(job(channel), gate=gate, paused_s=2.5) == Retry(
        NOON + 2500, NOON + 3000, "provider paused after failures"
    )


@pytest.mark.parametrize("channel", [SMS, EMAIL, PUSH])
def test_a_notice_nothing_holds_back_goes_on_to_its_claim(channel: pb.Channel) -> None:
    assert taken_up(job(channel), gate=None if channel == EMAIL else OPEN) == Go()


# -- once claimed --------------------------------------------------------------------------


def test_what_the_claim_says() -> None:
    assert decision.after_claim(Claim(0)) == AlreadySent()
    assert decision.after_claim(Claim(CANCELLED)) == Final("cancelled", tally="skipped")
    assert decision.after_claim(Claim(-1, until_ms=NOON)) == LookAgain(NOON + 100, NOON + 1000)
    assert decision.after_claim(Claim(1, at_ms=NOON)) == Send(1)
    assert decision.after_claim(Claim(3, in_doubt_since_ms=NOON - 9, at_ms=NOON)) == Send(
        3, NOON - 9
    )
    # the provider took it in an earlier attempt whose sender stopped before it was final
    assert decision.after_claim(Claim(4, at_ms=NOON, went="<n@x>")) == Went(4, "<n@x>")


# -- once the provider answered ------------------------------------------------------------


def answered(
    outcome: Sent | Failed, *, attempt: int = 1, planned_ms: int = NOON, doubt: int | None = None
) -> Final | GiveUp | Retry:
    claim = Claim(attempt, in_doubt_since_ms=doubt, at_ms=NOON + 5)
    notice = job(planned_ms=planned_ms)
    return decision.after_send(notice, outcome, claim=claim, now_ms=NOON + 10, rules=RULES)


def test_a_sent_notice_is_final_with_the_providers_id() -> None:
    assert answered(Sent("SM1"), attempt=4) == Final("sent", provider_id="SM1", tally="sent")


def test_a_notice_that_cannot_be_built_gives_up_at_once() -> None:
    failed = Failed("cannot be built: KeyError", permanent=True, unbuildable=True)
    assert answered(failed) == GiveUp(
        "cannot be built: KeyError", attempts=None, why="unbuildable", tally="failed"
    )


def test_a_permanent_failure_is_final_even_when_old_and_an_opt_out_is_remembered() -> None:
    for planned in (NOON, NOON - 10 * 3600 * 1000):
        rejected = Failed("invalid number", permanent=True, code="21211")
        assert answered(rejected, planned_ms=planned) == Final(
            "rejected", reason="invalid number", code="21211", tally="failed"
        )
        refused = Failed("unsubscribed", permanent=True, code="21610", opted_out=True)
        assert answered(refused, planned_ms=planned) == Final(
            "opted_out", reason="unsubscribed", code="21610", tally="failed", opt_out=True
        )


@pytest.mark.parametrize(
    ("attempt", "delay_ms"), [(1, 2000), (2, 4000), (3, 8000), (8, 256_000), (9, 300_000)]
)
def test_a_transient_failure_retries_with_backoff_and_spread(attempt: int, delay_ms: int) -> None:
    now = NOON + 10
    failed = Failed("503 from the provider", permanent=False, code="503")
    assert answered(failed, attempt=attempt) == Retry(
        now + delay_ms // 2, now + delay_ms, "503 from the provider"
    )


def test_an_unknown_outcome_retries_in_doubt_since_the_first_doubtful_attempt() -> None:
    timed_out = Failed("timed out", permanent=False, unknown=True)
    now = NOON + 10
    assert answered(timed_out) == Retry(now + 1000, now + 2000, "timed out", NOON + 5)
    assert answered(timed_out, doubt=NOON - 7) == Retry(
        now + 1000, now + 2000, "timed out", NOON - 7
    )


def test_a_push_subscription_gone_ends_the_notice_and_unsubscribes_it_even_when_old() -> None:
    gone = Failed("push 410 Gone", permanent=True, code="410", gone=True)
    for planned in (NOON, NOON - 10 * 3600 * 1000):
        assert answered(gone, planned_ms=planned) == Final(
            "gone", reason="push 410 Gone", code="410", tally="gone", unsubscribe=True
        )


def test_a_request_the_provider_refuses_for_good_is_a_dead_letter_at_once() -> None:
    refused = Failed("push 401 Unauthorized", permanent=True, code="401", dead_letter=True)
    assert answered(refused) == GiveUp("push 401 Unauthorized", why="rejected", tally="failed")


def test_a_transient_failure_comes_back_no_sooner_than_retry_after_says() -> None:
    now = NOON + 10
    throttled = Failed("push 429", permanent=False, code="429", retry_after_s=60)
    assert answered(throttled) == Retry(now + 60_000, now + 60_500, "push 429")
    # sooner than the backoff's delay: the backoff's delay holds
    soon = Failed("push 503", permanent=False, code="503", retry_after_s=0.5)
    assert answered(soon, attempt=3) == Retry(now + 4000, now + 8000, "push 503")
    # later than the age limit: no later than the age limit, when the attempt gives up
    never = Failed("push 503", permanent=False, code="503", retry_after_s=30 * 24 * 3600)
    assert answered(never) == Retry(now + 3_600_000, now + 3_600_500, "push 503")


def test_a_transient_failure_past_the_age_limit_gives_up_with_its_attempts() -> None:
    failed = Failed("503", permanent=False)
    limit = NOON + 10 - 3600 * 1000
    assert answered(failed, attempt=7, planned_ms=limit - 1) == GiveUp("503", attempts=7)
    assert isinstance(answered(failed, attempt=7, planned_ms=limit), Retry)  # not yet past it


# -- a failure no rule foresaw -------------------------------------------------------------


def test_an_unexpected_failure_retries_after_the_longest_delay_until_too_old() -> None:
    young, old = job(planned_ms=NOON), job(planned_ms=NOON - 3600 * 1000 - 1)
    assert decision.after_error(young, "unexpected KeyError", now_ms=NOON, rules=RULES) == Retry(
        NOON + 300_000, NOON + 300_000, "unexpected KeyError"
    )
    assert decision.after_error(old, "unexpected KeyError", now_ms=NOON, rules=RULES) == GiveUp(
        "unexpected KeyError"
    )


# -- the rules and the breaker --------------------------------------------------------------


def test_the_rules_come_from_the_settings() -> None:
    settings = Settings(
        quiet_hours="22:00-07:30",
        retry_first_s=1.5,
        retry_max_delay_s=60,
        retry_max_age_s=7200,
        webhook_retry_max_delay_s=600,
        webhook_max_age_s=72 * 3600,
    )
    webhooks = Schedule(first_s=1.5, max_delay_s=600.0, max_age_s=72 * 3600)
    assert Rules.of(settings) == Rules(parse_window("22:00-07:30"), 1.5, 60.0, 7200.0, webhooks)
    assert Rules.of(Settings(quiet_hours="")).quiet is None


def test_the_breaker_counts_a_providers_failures_not_a_notices() -> None:
    breaker = Breaker(threshold=2, first_pause_s=1.0)
    for _ in range(3):
        breaker.saw(Failed("invalid number", permanent=True), now=0)
    assert breaker.closed(now=0)
    breaker.saw(Failed("503", permanent=False), now=0)
    breaker.saw(Sent("SM1"), now=0)  # a success in between: no longer in a row
    breaker.saw(Failed("timed out", permanent=False, unknown=True), now=0)
    assert breaker.closed(now=0)
    breaker.saw(Failed("503", permanent=False), now=0)
    assert breaker.remaining_s(now=0) == 1.0


def test_a_failures_kind_as_the_metrics_count_it() -> None:
    assert Failed("x", permanent=True, unknown=True).kind == "permanent"
    assert Failed("x", permanent=False, unknown=True).kind == "unknown"
    assert Failed("x", permanent=False).kind == "transient"


# -- the survey loop's notices ----------------------------------------------------------------

SURVEY, FOLLOW_UP = npb.NOTICE_KIND_SURVEY, npb.NOTICE_KIND_FOLLOW_UP
APOLOGY, CASE_ALERT = npb.NOTICE_KIND_APOLOGY, npb.NOTICE_KIND_CASE_ALERT
ENDPOINT_DISABLED = npb.NOTICE_KIND_ENDPOINT_DISABLED
LATER_WAITS = SmsGate(opted_out=False, later_deferred=True, erased=False)
HOUR = 3600 * 1000


def loop_job(
    kind: npb.NoticeKind, channel: pb.Channel = SMS, *, not_before_ms: int | None = None
) -> npb.NotificationJob:
    j = job(channel)
    j.kind = kind
    j.occurred_at.FromMilliseconds(NOON - 2 * HOUR)  # the delivery
    if not_before_ms is not None:
        j.not_before.FromMilliseconds(not_before_ms)
        j.planned_at.FromMilliseconds(not_before_ms)
    return j


def gate_of(channel: pb.Channel, gate: SmsGate = OPEN) -> SmsGate | None:
    return None if channel == EMAIL else gate


@pytest.mark.parametrize("channel", [SMS, EMAIL])
def test_a_survey_waits_for_its_time_then_for_the_contacts_morning(channel: pb.Channel) -> None:
    survey = loop_job(SURVEY, channel, not_before_ms=NOON + HOUR)
    gate = gate_of(channel)
    assert taken_up(survey, gate=gate, now_ms=NOON) == Wait(NOON + HOUR)
    assert taken_up(survey, gate=gate, now_ms=NOON + HOUR) == Go()
    at_night = loop_job(SURVEY, channel, not_before_ms=NIGHT - HOUR)
    assert taken_up(at_night, gate=gate, now_ms=NIGHT) == Wait(MORNING)  # email too
    at_night.time_zone = "Europe/Chisinau"  # 08:00 there is 06:00 UTC
    morning_there = int(datetime(2026, 3, 11, 6, 0, tzinfo=UTC).timestamp() * 1000)
    assert taken_up(at_night, gate=gate, now_ms=NIGHT) == Wait(morning_there)
    # waits come before a pause of the channel: a paused provider does not hurry a survey
    assert taken_up(survey, gate=gate, now_ms=NOON, paused_s=5.0) == Wait(NOON + HOUR)


def test_a_survey_is_neither_superseded_by_a_status_nor_deferred_as_one() -> None:
    survey = loop_job(SURVEY, not_before_ms=NOON)
    assert taken_up(survey, gate=LATER_WAITS, now_ms=NOON) == Go()
    # at night it waits with a plain Wait, never a Defer (which makes it the contact's
    # latest status, superseding the status SMS that waits for the morning too)
    assert taken_up(survey, gate=LATER_WAITS, now_ms=NIGHT) == Wait(MORNING)


@pytest.mark.parametrize("kind", [SURVEY, FOLLOW_UP, APOLOGY])
def test_no_survey_loop_sms_goes_to_an_opted_out_number_or_after_an_erasure(
    kind: npb.NoticeKind,
) -> None:
    notice = loop_job(kind, not_before_ms=NOON + HOUR if kind == SURVEY else None)
    erased = SmsGate(opted_out=True, later_deferred=False, erased=True)
    opted_out = SmsGate(opted_out=True, later_deferred=False, erased=False)
    for now, paused in ((NOON, 0.0), (NIGHT, 0.0), (NOON, 5.0)):  # before its time, too
        assert taken_up(notice, gate=erased, now_ms=now, paused_s=paused) == Final(
            "cancelled", tally="skipped"
        )
        assert taken_up(notice, gate=opted_out, now_ms=now, paused_s=paused) == Final(
            "opted_out", tally="skipped"
        )
    with pytest.raises(ValueError, match="what the book holds"):
        taken_up(notice, gate=None)


@pytest.mark.parametrize(
    ("kind", "channel"),
    [
        (FOLLOW_UP, SMS),
        (APOLOGY, SMS),
        (APOLOGY, EMAIL),
        (CASE_ALERT, EMAIL),
        (ENDPOINT_DISABLED, EMAIL),
    ],
)
def test_a_follow_up_an_apology_and_an_alert_go_at_once_even_at_night(
    kind: npb.NoticeKind, channel: pb.Channel
) -> None:
    notice = loop_job(kind, channel)
    gate = gate_of(channel, LATER_WAITS)  # a status waiting for the morning: no matter
    assert taken_up(notice, gate=gate, now_ms=NIGHT) == Go()
    assert taken_up(notice, gate=gate, now_ms=NIGHT, paused_s=2.5) == Retry(
        NIGHT + 2500, NIGHT + 3000, "provider paused after failures"
    )


@pytest.mark.parametrize(
    ("kind", "channel", "reason"),
    [
        (FOLLOW_UP, EMAIL, "follow_up: no words for this channel"),
        (CASE_ALERT, SMS, "case_alert: no words for this channel"),
        (ENDPOINT_DISABLED, SMS, "endpoint_disabled: no words for this channel"),
        (ENDPOINT_DISABLED, PUSH, "endpoint_disabled: no words for this channel"),
        (SURVEY, PUSH, "survey: no words for this channel"),
        (APOLOGY, PUSH, "apology: no words for this channel"),
        (9, SMS, "kind 9: no words for this channel"),
    ],
)
def test_a_survey_loop_notice_on_a_channel_it_has_no_words_for_is_rejected(
    kind: npb.NoticeKind, channel: pb.Channel, reason: str
) -> None:
    assert taken_up(loop_job(kind, channel), gate=None) == Final("rejected", reason=reason)


def test_a_survey_once_claimed_goes_only_if_its_person_was_not_asked_lately() -> None:
    claimed = Send(2, NOON - 9)
    assert decision.asked(claimed, may_ask=True) == claimed
    assert decision.asked(claimed, may_ask=False) == Final("throttled", tally="skipped")


def test_a_survey_its_provider_took_is_told_to_the_feedback_topic_and_no_other_notice() -> None:
    claim = Claim(1, at_ms=NOON)
    sent = Final("sent", provider_id="SM1", tally="sent")
    for kind, told in ((SURVEY, True), (FOLLOW_UP, False), (APOLOGY, False), (CASE_ALERT, False)):
        notice = loop_job(kind, not_before_ms=NOON)
        answer = decision.after_send(notice, Sent("SM1"), claim=claim, now_ms=NOON, rules=RULES)
        assert answer == Final("sent", provider_id="SM1", tally="sent", survey_sent=told)
    status = decision.after_send(job(), Sent("SM1"), claim=claim, now_ms=NOON, rules=RULES)
    assert status == sent


def test_an_erasure_is_compared_with_when_the_notice_was_planned() -> None:
    """A survey's planned_at is its time to go, hours after the delivery it was planned at:
    an erasure between the two must cancel it."""
    survey = loop_job(SURVEY, not_before_ms=NOON + HOUR)
    assert decision.planned_ms(survey) == survey.occurred_at.ToMilliseconds() == NOON - 2 * HOUR
    apology = loop_job(APOLOGY)
    assert decision.planned_ms(apology) == apology.planned_at.ToMilliseconds() == NOON
    assert decision.planned_ms(job(planned_ms=NOON - 7)) == NOON - 7
