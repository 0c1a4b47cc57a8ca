"""Who is asked the post-delivery question, on which channel, with which ids and when
(model/survey_notices.py), and the tracker's planner that adds those jobs to a delivery's
status notices (tracker/notices.py)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from shipnotify.model import survey
from shipnotify.model.status import Status
from shipnotify.model.survey_notices import survey_jobs, survey_route, surveyed
from shipnotify.store import Applied
from shipnotify.tracker.notices import plan_notices, planner, surveyed_account
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.v1 import survey_pb2 as spb

SMS, EMAIL, PUSH = pb.CHANNEL_SMS, pb.CHANNEL_EMAIL, pb.CHANNEL_PUSH
SENDER, RECIPIENT = npb.PARTY_ROLE_SENDER, npb.PARTY_ROLE_RECIPIENT
RULES = survey.Rules(scale=spb.SCALE_NPS, delay=timedelta(minutes=90))
DELIVERED_AT_MS = 1_780_000_000_000


def registration() -> pb.ShipmentRegistered:
    reg = pb.ShipmentRegistered(tracking_id="t" * 20)
    reg.sender.contacts.add(name="Boss", phone="+40721000001", no_surveys=True)
    reg.sender.contacts.add(name="Nobody", channels=[SMS])  # nothing to reach it by
    reg.sender.contacts.add(
        name="Desk",
        phone="+40721000002",
        email="desk@shop.example",
        channels=[PUSH, EMAIL, SMS],
        locale="ro",
        time_zone="Europe/Bucharest",
    )
    reg.sender.contacts.add(name="Later", email="later@shop.example")
    reg.recipient.contacts.add(
        name="Ion", phone="+37369123456", channels=[EMAIL], time_zone="Europe/Chisinau"
    )
    return reg


def delivered(status: Status = Status.DELIVERED) -> pb.ShipmentEvent:
    event = pb.ShipmentEvent(event_id=str(uuid.uuid4()), shipment_id="s-1")
    event.occurred_at.FromMilliseconds(DELIVERED_AT_MS)
    event.recorded_at.FromMilliseconds(DELIVERED_AT_MS + 5_000)
    event.status_changed.status = status.proto
    return event


def contact(channels: list[int], phone: str = "", email: str = "") -> pb.Contact:
    return pb.Contact(name="C", phone=phone, email=email, channels=channels)  # type: ignore[arg-type]


def test_each_party_is_asked_through_its_first_contact_that_takes_surveys() -> None:
    reg = registration()
    asked = surveyed(reg.sender)
    assert asked is not None
    assert asked.name == "Desk"
    assert surveyed(reg.recipient) is reg.recipient.contacts[0]
    nobody = pb.Party()
    nobody.contacts.add(name="Boss", phone="+40721000001", no_surveys=True)
    nobody.contacts.add(name="Mute")
    assert surveyed(nobody) is None
    assert surveyed(pb.Party()) is None


@pytest.mark.parametrize(
    ("given", "route"),
    [
        (contact([], phone="+40721000001", email="a@x.example"), (SMS, "+40721000001")),
        (contact([EMAIL, SMS], phone="+40721000001", email="a@x.example"), (EMAIL, "a@x.example")),
        (
            contact([PUSH, SMS, EMAIL], phone="+40721000001", email="a@x.example"),
            (SMS, "+40721000001"),
        ),
        # a preference without its address is passed over
        (contact([EMAIL], phone="+40721000001"), (SMS, "+40721000001")),
        (contact([SMS, EMAIL], email="a@x.example"), (EMAIL, "a@x.example")),
        (contact([PUSH], email="a@x.example"), (EMAIL, "a@x.example")),
    ],
)
def test_the_channel_is_the_first_preferred_it_can_take_else_sms_if_it_has_a_phone(
    given: pb.Contact, route: tuple[int, str]
) -> None:
    assert survey_route(given) == route


def test_a_survey_job_a_party_with_its_ids_its_time_and_the_scale() -> None:
    event, reg = delivered(), registration()
    jobs = survey_jobs(event, reg, RULES)
    assert [(j.party, j.channel, j.address, j.name) for j in jobs] == [
        (SENDER, EMAIL, "desk@shop.example", "Desk"),
        (RECIPIENT, SMS, "+37369123456", "Ion"),
    ]
    due_ms = DELIVERED_AT_MS + 90 * 60_000
    for job, party in zip(jobs, (SENDER, RECIPIENT), strict=True):
        survey_id = survey.survey_id(event.event_id, party)
        assert job.survey_id == survey_id
        assert job.notification_id == survey.notice_id(survey_id, "survey")
        assert job.event_id == event.event_id
        assert job.kind == npb.NOTICE_KIND_SURVEY
        assert job.scale == spb.SCALE_NPS
        assert job.status == pb.STATUS_DELIVERED
        assert job.tracking_id == reg.tracking_id
        assert job.shipment_id == "s-1"
        assert job.occurred_at.ToMilliseconds() == DELIVERED_AT_MS
        assert job.not_before.ToMilliseconds() == job.planned_at.ToMilliseconds() == due_ms
    assert (jobs[0].locale, jobs[0].time_zone) == ("ro", "Europe/Bucharest")
    assert jobs[1].time_zone == "Europe/Chisinau"
    # the same delivery plans the same surveys; another delivery, others
    assert survey_jobs(event, reg, RULES) == jobs
    other = survey_jobs(delivered(), reg, RULES)
    assert {j.survey_id for j in other}.isdisjoint(j.survey_id for j in jobs)


def test_a_party_with_no_contact_to_ask_gets_no_survey() -> None:
    reg = registration()
    reg.recipient.contacts[0].no_surveys = True
    assert [j.party for j in survey_jobs(delivered(), reg, RULES)] == [SENDER]


def applied(event: pb.ShipmentEvent, *, advanced: bool = True, duplicate: bool = False) -> Applied:
    return Applied(
        event,
        duplicate=duplicate,
        advanced=advanced,
        previous=Status.OUT_FOR_DELIVERY,
        version=7,
        parties=registration().SerializeToString() if advanced else b"",
    )


def test_the_planner_adds_the_surveys_to_a_delivery_that_advanced() -> None:
    plan = planner(RULES)
    event = delivered()
    first = applied(event)
    jobs = [npb.NotificationJob.FromString(v) for _, v in plan(first)]
    status_jobs = [npb.NotificationJob.FromString(v) for _, v in plan_notices(first)]
    assert status_jobs
    assert all(j.kind == npb.NOTICE_KIND_UNSPECIFIED for j in status_jobs)
    assert jobs == status_jobs + survey_jobs(event, registration(), RULES)
    assert all(k == b"s-1" for k, _ in plan(first))
    # a redelivery reports what its first delivery did: the same jobs, byte for byte
    assert plan(applied(event, duplicate=True)) == plan(first)


@pytest.mark.parametrize(
    "case",
    [
        applied(delivered(), advanced=False),  # a late delivered that moved nothing
        applied(delivered(Status.OUT_FOR_DELIVERY)),
        applied(delivered(Status.RETURNED_TO_SENDER)),
    ],
    ids=["not-advanced", "out-for-delivery", "returned"],
)
def test_no_survey_for_anything_but_a_delivery_that_advanced(case: Applied) -> None:
    jobs = [npb.NotificationJob.FromString(v) for _, v in planner(RULES)(case)]
    assert [j for j in jobs if j.kind == npb.NOTICE_KIND_SURVEY] == []
    assert planner(RULES)(case) == plan_notices(case)


def _surveys(done: Applied) -> list[npb.NotificationJob]:
    jobs = [npb.NotificationJob.FromString(v) for _, v in planner(RULES)(done)]
    return [j for j in jobs if j.kind == npb.NOTICE_KIND_SURVEY]


def test_an_accounts_survey_settings_apply_to_its_shipments() -> None:
    event = delivered()
    reg = registration()
    reg.account_id = "acct_1"
    owned = replace(applied(event), parties=reg.SerializeToString())
    assert surveyed_account(owned) == "acct_1"
    assert surveyed_account(applied(event)) == ""
    assert surveyed_account(applied(event, advanced=False)) is None
    # no settings: the carrier's rules
    carrier = _surveys(owned)
    assert [j.scale for j in carrier] == [spb.SCALE_NPS, spb.SCALE_NPS]
    # the account's scale and delay
    settings = apb.SurveySettings(scale=spb.SCALE_CES, delay_s=600)
    mine = _surveys(replace(owned, survey=settings))
    assert [j.scale for j in mine] == [spb.SCALE_CES, spb.SCALE_CES]
    assert {j.not_before.ToMilliseconds() for j in mine} == {DELIVERED_AT_MS + 600_000}
    assert {j.notification_id for j in mine} == {j.notification_id for j in carrier}
    # a scale alone keeps the carrier's delay
    scale_only = _surveys(replace(owned, survey=apb.SurveySettings(scale=spb.SCALE_CSAT)))
    assert {j.not_before.ToMilliseconds() for j in scale_only} == {DELIVERED_AT_MS + 90 * 60_000}
    # off: no survey, the status notices still
    off = replace(owned, survey=apb.SurveySettings(off=True))
    assert _surveys(off) == []
    assert planner(RULES)(off) == plan_notices(off)


def test_the_rules_for_an_account() -> None:
    assert survey.for_account(RULES, None) is RULES
    assert survey.for_account(RULES, apb.SurveySettings(off=True)) is None
    zero = survey.for_account(RULES, apb.SurveySettings(delay_s=0))
    assert zero is not None
    assert zero.delay == timedelta(0)
    assert zero.scale == RULES.scale
