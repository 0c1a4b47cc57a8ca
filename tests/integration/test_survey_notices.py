"""The survey loop's notices through the real notifier: jobs as the tracker plans them, on
the real broker, SMS through the twilio library to the SMS
sandbox, email over SMTP to a real SMTP server, the book, the throttle and the opt-outs in
redis-server, and SurveySent on the feedback topic: each notice once, when it may go."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from aiokafka import ConsumerRecord

from shipnotify import kafka
from shipnotify.config import Settings
from shipnotify.model import survey
from shipnotify.model.day_figures import NOTICE_EVENTS
from shipnotify.model.sms import segments
from shipnotify.notifier.redrive import redrive
from shipnotify.notifier.survey_texts import apology_sms, follow_up_sms, survey_sms
from shipnotify.store import TrackingStore
from shipnotify.store.keys import due_key
from shipnotify.v1 import feedback_pb2 as fpb
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.v1 import survey_pb2 as spb
from tests.offsets import read_all

from .conftest import api_key, eventually, notifier_idle, unique
from .test_dead_letters import produce as produce_records
from .test_dead_letters import registration_event
from .test_notifications import Stack, running_notifier, stack, until

__all__ = ["stack"]  # the fixture

PHONE, EMAIL = "+37369111222", "ion@example.com"
SUPERVISOR = "boss@carrier.example"
HOUR_MS = 3600 * 1000
KIND_NAMES = {
    npb.NOTICE_KIND_SURVEY: "survey",
    npb.NOTICE_KIND_FOLLOW_UP: "follow_up",
    npb.NOTICE_KIND_APOLOGY: "apology",
    npb.NOTICE_KIND_CASE_ALERT: "alert",
}


def now_ms() -> int:
    return int(time.time() * 1000)


def night_in_chisinau() -> str:
    """Quiet hours around now where the contacts live."""
    there = datetime.now(ZoneInfo("Europe/Chisinau"))
    return f"{there - timedelta(hours=1):%H:%M}-{there + timedelta(hours=1):%H:%M}"


def loop_job(
    shipment_id: str,
    kind: npb.NoticeKind,
    channel: pb.Channel = pb.CHANNEL_SMS,
    *,
    address: str = PHONE,
    not_before_ms: int | None = None,
    survey_id: str = "",
    locale: str = "ro",
) -> npb.NotificationJob:
    """A job as the tracker plans it: a survey at a delivery two hours ago, due at its
    not_before; the others when an answer or a case came (now)."""
    survey_id = survey_id or survey.survey_id(str(uuid.uuid4()), npb.PARTY_ROLE_RECIPIENT)
    key = survey.case_id(survey_id) if kind != npb.NOTICE_KIND_FOLLOW_UP else survey_id
    job = npb.NotificationJob(
        notification_id=survey.notice_id(
            survey_id if kind == npb.NOTICE_KIND_SURVEY else key, KIND_NAMES[kind]
        ),
        shipment_id=shipment_id,
        event_id=str(uuid.uuid4()),
        tracking_id="s" * 20,
        party=npb.PARTY_ROLE_RECIPIENT,
        channel=channel,
        address=address,
        name="Ion Rusu",
        locale=locale,
        time_zone="Europe/Chisinau",
        status=pb.STATUS_DELIVERED,
        kind=kind,
        survey_id=survey_id,
        scale=spb.SCALE_CSAT,
    )
    job.occurred_at.FromMilliseconds(now_ms() - 2 * HOUR_MS)
    planned = now_ms() if not_before_ms is None else not_before_ms
    job.planned_at.FromMilliseconds(planned)
    if kind == npb.NOTICE_KIND_SURVEY:
        job.not_before.FromMilliseconds(planned)
    return job


def alert_job(shipment_id: str) -> npb.NotificationJob:
    job = loop_job(shipment_id, npb.NOTICE_KIND_CASE_ALERT, pb.CHANNEL_EMAIL, address=SUPERVISOR)
    job.locale, job.name = "en", "North depot"
    case = job.case_alert
    case.case_id, case.depot, case.courier_id = survey.case_id(job.survey_id), "north", "c-17"
    case.due_at.FromMilliseconds(now_ms() + 4 * HOUR_MS)
    case.scale, case.score, case.source = spb.SCALE_CSAT, 1, spb.ANSWER_SOURCE_SMS
    case.reason, case.comment = spb.REASON_LATE, "Two days late"
    case.party, case.customer_name, case.customer_phone = job.party, "Ion Rusu", PHONE
    entry = case.timeline.add(status=pb.STATUS_DELIVERED, depot="north")
    entry.occurred_at.CopyFrom(job.occurred_at)
    return job


async def produce(settings: Settings, jobs: Sequence[npb.NotificationJob]) -> None:
    await kafka.ensure_topics(settings)
    producer = kafka.producer(settings)
    await producer.start()
    try:
        for job in jobs:
            await producer.send_and_wait(
                settings.notifications_topic,
                key=job.shipment_id.encode(),
                value=job.SerializeToString(),
            )
    finally:
        await producer.stop()


async def states(stack: Stack, shipment_id: str) -> dict[str, dict[str, Any]]:
    return await stack.book.of_shipment(shipment_id)


async def state_of(stack: Stack, job: npb.NotificationJob) -> str:
    return str((await states(stack, job.shipment_id)).get(job.notification_id, {}).get("s", ""))


def told(records: Sequence[ConsumerRecord]) -> list[fpb.FeedbackEvent]:
    """The surveys told to the feedback topic, beside every notice's outcome (`outcomes`)."""
    events = [fpb.FeedbackEvent.FromString(r.value) for r in records]
    return [e for e in events if e.WhichOneof("body") not in NOTICE_EVENTS]


def outcomes(records: Sequence[ConsumerRecord]) -> dict[str, bool]:
    """The notices' outcomes told to the feedback topic: notification id -> it went."""
    events = [fpb.FeedbackEvent.FromString(r.value) for r in records]
    settled = [e.notice_settled for e in events if e.WhichOneof("body") == "notice_settled"]
    return {s.notification_id: s.sent for s in settled}


def text_of(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


async def test_a_survey_by_sms_goes_once_and_is_told_to_the_feedback_topic_once(
    stack: Stack,
) -> None:
    sid = unique("survey-sms")
    job = loop_job(sid, npb.NOTICE_KIND_SURVEY, not_before_ms=now_ms() - 1000)
    async with running_notifier(stack.settings):
        await produce(stack.settings, [job, job])  # a tracker that re-emitted it
        await until(lambda: len(stack.sms_to(PHONE)) == 1)
        await eventually(lambda: notifier_idle(stack.settings, stack.redis))
        await stack.sms.settled()  # its receipts too
    [question] = stack.sms_to(PHONE)
    assert (
        question
        == survey_sms("ro", spb.SCALE_CSAT)
        == ("Cum a fost livrarea? Raspundeti de la 1 (slab) la 5 (excelent).")
    )
    assert segments(question) == 1
    records = await read_all(stack.settings, stack.settings.feedback_topic)
    [event] = told(records)
    assert {r.key for r in records} == {sid.encode()}
    assert outcomes(records) == {job.notification_id: True}  # for the figures, once
    assert event.event_id == survey.feedback_event_id("sent", job.notification_id)
    assert (event.shipment_id, event.WhichOneof("body")) == (sid, "survey_sent")
    sent = event.survey_sent
    assert (sent.survey_id, sent.channel, sent.scale, sent.address) == (
        job.survey_id,
        pb.CHANNEL_SMS,
        spb.SCALE_CSAT,
        PHONE,
    )
    assert (sent.party, sent.name, sent.locale, sent.time_zone, sent.notification_id) == (
        npb.PARTY_ROLE_RECIPIENT,
        "Ion Rusu",
        "ro",
        "Europe/Chisinau",
        job.notification_id,
    )
    notice = (await states(stack, sid))[job.notification_id]
    assert (notice["kind"], notice["c"], notice["n"]) == ("survey", "sms", 1)
    assert notice["s"] in {"sent", "delivered"}
    resp = await stack.api.get(f"/v1/shipments/{sid}/notices", headers=api_key(stack.settings))
    [listed] = (await resp.json())["notices"]
    assert (listed["notification_id"], listed["state"]) == (job.notification_id, notice["s"])


async def test_a_survey_by_email_has_a_link_per_score_back_to_its_survey(stack: Stack) -> None:
    sid = unique("survey-mail")
    job = loop_job(sid, npb.NOTICE_KIND_SURVEY, pb.CHANNEL_EMAIL, address=EMAIL, locale="en")
    async with running_notifier(stack.settings):
        await produce(stack.settings, [job])
        await until(lambda: len(stack.mail_to(EMAIL)) == 1)
        await eventually(lambda: notifier_idle(stack.settings, stack.redis))
    [mail] = stack.mail_to(EMAIL)
    assert mail["Message-ID"] == f"<{job.notification_id}@carrier.example>"
    links = re.findall(r"(\S+)/s/(\S+)\?score=(\d)\b", text_of(mail))
    assert [int(score) for _, _, score in links] == [1, 2, 3, 4, 5]
    assert {base for base, _, _ in links} == {stack.settings.webhook_url}  # hooks' page
    secret = stack.settings.opt_out_secret
    assert {survey.read_token(secret, token) for _, token, _ in links} == {(sid, job.survey_id)}
    html = mail.get_body(("html",))
    assert html is not None
    assert all(f'href="{base}/s/{token}?score={score}"' in html.get_content()
               for base, token, score in links)  # fmt: skip
    [event] = told(await read_all(stack.settings, stack.settings.feedback_topic))
    assert (event.survey_sent.channel, event.survey_sent.address) == (pb.CHANNEL_EMAIL, EMAIL)


async def test_a_survey_goes_not_before_its_time(stack: Stack) -> None:
    sid = unique("survey-later")
    not_before = now_ms() + 3000
    job = loop_job(sid, npb.NOTICE_KIND_SURVEY, not_before_ms=not_before)
    async with running_notifier(stack.settings):
        await produce(stack.settings, [job])

        async def waiting() -> bool:
            return (await states(stack, sid)).get(job.notification_id, {}).get("until") == (
                not_before
            )

        await eventually(waiting)
        assert (stack.sms_to(PHONE), now_ms() < not_before) == ([], True)
        await until(lambda: len(stack.sms_to(PHONE)) == 1)
    [message] = [m for m in stack.sms.messages if m.to == PHONE]
    assert message.created_at.timestamp() * 1000 >= not_before


async def test_a_survey_in_quiet_hours_waits_for_the_morning_beside_a_status_sms(
    stack: Stack,
) -> None:
    """By SMS and by email, in the contact's time zone; a status SMS waiting for the same
    morning is not superseded by the survey, nor the survey by it."""
    night = stack.settings.with_(quiet_hours=night_in_chisinau())
    sid = unique("survey-night")
    by_sms = loop_job(sid, npb.NOTICE_KIND_SURVEY, not_before_ms=now_ms() - 1000)
    by_email = loop_job(
        sid, npb.NOTICE_KIND_SURVEY, pb.CHANNEL_EMAIL, address=EMAIL, not_before_ms=now_ms()
    )
    status = npb.NotificationJob(
        notification_id=str(uuid.uuid4()),
        shipment_id=sid,
        event_id=str(uuid.uuid4()),
        tracking_id="s" * 20,
        party=npb.PARTY_ROLE_RECIPIENT,
        channel=pb.CHANNEL_SMS,
        address=PHONE,
        locale="ro",
        time_zone="Europe/Chisinau",
        status=pb.STATUS_OUT_FOR_DELIVERY,
    )
    before_delivery = by_sms.occurred_at.ToMilliseconds() - 30 * 60 * 1000
    status.occurred_at.FromMilliseconds(before_delivery)  # a status older than the survey's
    status.planned_at.FromMilliseconds(before_delivery)
    async with running_notifier(night):
        await produce(night, [status, by_sms, by_email])

        async def all_wait() -> bool:
            found = await states(stack, sid)
            jobs = (status, by_sms, by_email)
            return [found.get(j.notification_id, {}).get("s") for j in jobs] == ["deferred"] * 3

        await eventually(all_wait)
    assert (stack.sms_to(PHONE), stack.mail_to(EMAIL)) == ([], [])
    waiting = await states(stack, sid)
    morning = waiting[by_sms.notification_id]["until"]
    assert morning == waiting[by_email.notification_id]["until"] > now_ms()
    # The morning comes: everything due now, and the quiet hours over.
    due = due_key(stack.settings.notifications_topic)
    members = [m for m in await stack.redis.zrange(due, 0, -1) if isinstance(m, bytes)]
    await stack.redis.zadd(due, dict.fromkeys(members, 0))
    async with running_notifier(stack.settings):
        await until(lambda: len(stack.sms_to(PHONE)) == 2 and len(stack.mail_to(EMAIL)) == 1)
        await eventually(lambda: notifier_idle(stack.settings, stack.redis))
    assert survey_sms("ro", spb.SCALE_CSAT) in stack.sms_to(PHONE)
    done = await states(stack, sid)
    assert {done[j.notification_id]["s"] for j in (status, by_sms, by_email)} <= {
        "sent",
        "delivered",
    }


async def test_a_second_survey_to_the_same_phone_within_the_days_is_throttled(
    stack: Stack,
) -> None:
    first = loop_job(unique("survey-1"), npb.NOTICE_KIND_SURVEY, not_before_ms=now_ms() - 1000)
    second = loop_job(unique("survey-2"), npb.NOTICE_KIND_SURVEY, not_before_ms=now_ms() - 1000)
    async with running_notifier(stack.settings):
        await produce(stack.settings, [first])
        await until(lambda: len(stack.sms_to(PHONE)) == 1)
        await produce(stack.settings, [second, second])
        await eventually(lambda: notifier_idle(stack.settings, stack.redis))
    assert stack.sms_to(PHONE) == [survey_sms("ro", spb.SCALE_CSAT)]  # the first's alone
    assert await state_of(stack, second) == "throttled"
    [event] = told(await read_all(stack.settings, stack.settings.feedback_topic))
    assert event.survey_sent.survey_id == first.survey_id
    resp = await stack.api.get(
        f"/v1/shipments/{second.shipment_id}/notices", headers=api_key(stack.settings)
    )
    listed = (await resp.json())["notices"]
    assert [(n["kind"], n["state"]) for n in listed] == [("survey", "throttled")]


async def test_an_opted_out_phone_gets_no_survey_follow_up_or_apology(stack: Stack) -> None:
    url = f"{stack.settings.webhook_url}/v1/twilio/inbound"
    status, _ = await stack.sms.send_inbound(url, PHONE, "+15005550006", "STOP")
    assert status == 200
    sid = unique("opted-out")
    jobs = [
        loop_job(sid, npb.NOTICE_KIND_SURVEY, not_before_ms=now_ms() - 1000),
        loop_job(sid, npb.NOTICE_KIND_FOLLOW_UP),
        loop_job(sid, npb.NOTICE_KIND_APOLOGY),
    ]
    async with running_notifier(stack.settings):
        await produce(stack.settings, jobs)

        async def all_skipped() -> bool:
            return [await state_of(stack, j) for j in jobs] == ["opted_out"] * 3

        await eventually(all_skipped)
        await eventually(lambda: notifier_idle(stack.settings, stack.redis))
    assert stack.sms_to(PHONE) == []
    assert await read_all(stack.settings, stack.settings.feedback_topic) == []


async def erase(stack: Stack, shipment_id: str) -> None:
    """The shipment's contacts erased now: after a delivery, before a survey's time."""
    erasure = pb.ShipmentEvent(event_id=str(uuid.uuid4()), shipment_id=shipment_id)
    erasure.contacts_erased.SetInParent()
    erasure.occurred_at.GetCurrentTime()
    erasure.recorded_at.GetCurrentTime()
    await TrackingStore(stack.redis).apply([registration_event(shipment_id), erasure])


async def test_a_survey_is_cancelled_by_an_erasure_after_its_delivery(stack: Stack) -> None:
    sid = unique("survey-erased")
    job = loop_job(sid, npb.NOTICE_KIND_SURVEY, not_before_ms=now_ms() + 1500)
    await erase(stack, sid)
    async with running_notifier(stack.settings):
        await produce(stack.settings, [job])
        await eventually(lambda: _is(stack, job, "cancelled"))
    assert stack.sms_to(PHONE) == []


async def _is(stack: Stack, job: npb.NotificationJob, state: str) -> bool:
    return await state_of(stack, job) == state


async def test_a_follow_up_an_apology_and_a_case_alert_go_at_once_and_once_each(
    stack: Stack,
) -> None:
    night = stack.settings.with_(quiet_hours=night_in_chisinau())  # they go all the same
    sid = unique("case")
    by_sms = survey.survey_id(str(uuid.uuid4()), npb.PARTY_ROLE_RECIPIENT)
    by_email = survey.survey_id(str(uuid.uuid4()), npb.PARTY_ROLE_SENDER)  # the other party's
    jobs = [
        loop_job(sid, npb.NOTICE_KIND_FOLLOW_UP, survey_id=by_sms, locale="en"),
        loop_job(sid, npb.NOTICE_KIND_APOLOGY, survey_id=by_sms, locale="en"),
        loop_job(sid, npb.NOTICE_KIND_APOLOGY, pb.CHANNEL_EMAIL, address=EMAIL, survey_id=by_email),
        alert_job(sid),
    ]
    async with running_notifier(night):
        await produce(night, jobs + jobs)  # each delivered twice
        await until(lambda: len(stack.sms_to(PHONE)) == 2 and len(stack.mail.messages) == 2)
        await eventually(lambda: notifier_idle(night, stack.redis))
    assert sorted(stack.sms_to(PHONE)) == sorted([follow_up_sms("en"), apology_sms("en")])
    [apology] = stack.mail_to(EMAIL)
    assert "Cineva din echipa noastră vă va suna astăzi" in text_of(apology)
    [alert] = stack.mail_to(SUPERVISOR)
    said = text_of(alert)
    for line in (
        f"Phone: {PHONE}",
        "Customer: Ion Rusu",
        "What went wrong: It was late",
        "Depot: north",
    ):
        assert line in said, line
    assert "Europe/Chisinau" in said
    found = await states(stack, sid)
    assert sorted(found[j.notification_id]["kind"] for j in jobs) == [
        "apology",
        "apology",
        "case_alert",
        "follow_up",
    ]
    assert all(found[j.notification_id]["n"] == 1 for j in jobs)
    assert told(await read_all(night, night.feedback_topic)) == []  # only a survey is told


async def test_redrive_cancels_a_survey_given_up_before_an_erasure(stack: Stack) -> None:
    sid = unique("survey-redriven")
    job = loop_job(sid, npb.NOTICE_KIND_SURVEY, not_before_ms=now_ms() + HOUR_MS)
    dead = stack.settings.notifications_dead_letter_topic
    await produce_records(stack.settings, dead, [(sid.encode(), job.SerializeToString())])
    await erase(stack, sid)
    done = await redrive(stack.settings, idle_s=1.0)
    assert (done.jobs, done.cancelled) == (0, 1)
    assert await state_of(stack, job) == "cancelled"
