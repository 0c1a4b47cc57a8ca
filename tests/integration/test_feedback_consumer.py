"""The tracker's feedback consumer on Apache Kafka and redis-server: every feedback event
applied once however often it comes, the follow-up, apology and alert jobs it calls for (the
same again for a duplicate), unreadable records in the dead letters, and `shipnotify rebuild`
restoring surveys and cases after Redis lost them."""

from __future__ import annotations

from collections import Counter

from prometheus_client import REGISTRY
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from shipnotify.config import Settings
from shipnotify.model import survey
from shipnotify.model.status import Status
from shipnotify.store import TrackingStore, intact
from shipnotify.store.digests import address_digest
from shipnotify.store.feedback import CaseFilter, FeedbackStore
from shipnotify.store.keys import CASES_CLOSED, CASES_OPEN, sms_survey_key
from shipnotify.tracker.rebuild import rebuild
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.v1 import survey_pb2 as spb
from tests.offsets import consumed, read_all

from .conftest import eventually, running_tracker, unique
from .feedback_events import (
    HOUR,
    answered,
    closed,
    followed_up,
    noted,
    now_ms,
    opened,
    produce_feedback,
    sent,
    taken,
)
from .test_dead_letters import produce, registration_event, status_event

NORTH = "north=boss@carrier.example Europe/Chisinau 18:00"
PHONE = "+37369123456"


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def delivered_shipment(redis: Redis, sid: str) -> list[pb.ShipmentEvent]:
    """A shipment registered and delivered, with its timeline in Redis."""
    events = [registration_event(sid)]
    for status, minutes, depot in (
        (Status.PICKED_UP, 9, "north"),  # after its registration, 10 minutes ago
        (Status.OUT_FOR_DELIVERY, 8, "north"),
        (Status.DELIVERED, 7, ""),
    ):
        event = status_event(sid, status)
        event.occurred_at.FromMilliseconds(now_ms() - minutes * 60_000)
        if depot:
            event.status_changed.location.depot = depot
        events.append(event)
    await TrackingStore(redis).apply(events)
    return events


def jobs_of(records: list) -> list[npb.NotificationJob]:  # type: ignore[type-arg]
    return [npb.NotificationJob.FromString(r.value) for r in records]


async def test_feedback_is_applied_once_and_calls_for_its_jobs_each_time_it_comes(
    settings: Settings, redis: Redis
) -> None:
    own = settings.with_(depots=NORTH)
    sid, page_sid = unique("fbk"), unique("fbk-page")
    tap_events = await delivered_shipment(redis, sid)
    await delivered_shipment(redis, page_sid)
    sv = survey.survey_id(tap_events[-1].event_id, npb.PARTY_ROLE_RECIPIENT)
    case_id = survey.case_id(sv)
    page = survey.page_survey_id(page_sid)
    t = now_ms() - 5 * 60_000
    events = [
        sent(sid, sv, t, address=PHONE),
        answered(sid, sv, t + 60_000, 1),
        opened(sid, sv, t + 60_000, due_ms=t + 8 * HOUR),
        followed_up(sid, sv, t + 120_000, spb.REASON_COURIER_MANNER, "rude"),
        taken(sid, case_id, t + 180_000),
        noted(sid, case_id, t + 240_000, "called back"),
        closed(sid, case_id, t + 300_000),
        # the tracking page's answer: no survey was sent, no depot supervises it
        answered(page_sid, page, t, 2, source=spb.ANSWER_SOURCE_PAGE),
        opened(page_sid, page, t, due_ms=t + 8 * HOUR, depot="south"),
    ]
    before = {
        "applied": metric(
            "shipnotify_feedback_events_applied_total", kind="case_noted", outcome="applied"
        ),
        "duplicates": metric(
            "shipnotify_feedback_events_applied_total", kind="case_noted", outcome="duplicate"
        ),
        "opened": metric("shipnotify_callback_cases_total", change="opened"),
        "closed": metric("shipnotify_callback_cases_total", change="closed"),
        "no_depot": metric("shipnotify_survey_notices_total", kind="case_alert", state="no_depot"),
    }
    async with running_tracker(own):
        await produce_feedback(own, events)
        await produce_feedback(own, events)  # each comes twice
        await eventually(lambda: consumed(own, own.feedback_group, own.feedback_topic))

    store = FeedbackStore(redis, own.opt_out_secret.encode())
    got = await store.survey(sid, sv)
    assert got is not None
    assert got.answer == events[1].survey_answered
    assert got.follow_up == events[3].follow_up_answered
    case = await store.case(case_id)
    assert case is not None
    assert (case.state, case.taken_by, [n.text for n in case.notes]) == (
        "closed",
        "Mia",
        ["called back"],
    )
    page_case = await store.case(survey.case_id(page))
    assert page_case is not None
    assert (page_case.state, page_case.depot) == ("open", "south")  # opened, though unalerted
    assert (
        metric("shipnotify_feedback_events_applied_total", kind="case_noted", outcome="applied")
        == before["applied"] + 1
    )
    assert (
        metric("shipnotify_feedback_events_applied_total", kind="case_noted", outcome="duplicate")
        == before["duplicates"] + 1
    )
    assert metric("shipnotify_callback_cases_total", change="opened") == before["opened"] + 2
    assert metric("shipnotify_callback_cases_total", change="closed") == before["closed"] + 1
    assert (
        metric("shipnotify_survey_notices_total", kind="case_alert", state="no_depot")
        == before["no_depot"] + 1
    )

    jobs = jobs_of(await read_all(own, own.notifications_topic))
    kinds = Counter((j.kind, j.shipment_id) for j in jobs)
    assert kinds == {
        (npb.NOTICE_KIND_FOLLOW_UP, sid): 2,
        (npb.NOTICE_KIND_APOLOGY, sid): 2,
        (npb.NOTICE_KIND_CASE_ALERT, sid): 2,
    }
    by_kind = {j.kind: j for j in jobs}
    follow_up = by_kind[npb.NOTICE_KIND_FOLLOW_UP]
    assert follow_up.notification_id == survey.notice_id(sv, "follow_up")
    assert (follow_up.channel, follow_up.address, follow_up.event_id) == (
        pb.CHANNEL_SMS,
        PHONE,
        events[1].event_id,
    )
    assert follow_up.planned_at == events[1].recorded_at
    apology = by_kind[npb.NOTICE_KIND_APOLOGY]
    assert apology.notification_id == survey.notice_id(case_id, "apology")
    assert (apology.channel, apology.address, apology.survey_id) == (pb.CHANNEL_SMS, PHONE, sv)
    alert = by_kind[npb.NOTICE_KIND_CASE_ALERT]
    assert alert.notification_id == survey.notice_id(case_id, "alert")
    assert (alert.channel, alert.address, alert.time_zone) == (
        pb.CHANNEL_EMAIL,
        "boss@carrier.example",
        "Europe/Chisinau",
    )
    assert alert.tracking_id == "d" * 20
    shown = alert.case_alert
    assert (shown.case_id, shown.depot, shown.score, shown.customer_phone) == (
        case_id,
        "north",
        1,
        PHONE,
    )
    assert [(e.status, e.depot) for e in shown.timeline] == [
        (pb.STATUS_REGISTERED, ""),
        (pb.STATUS_PICKED_UP, "north"),
        (pb.STATUS_OUT_FOR_DELIVERY, "north"),
        (pb.STATUS_DELIVERED, ""),
    ]
    assert [e.occurred_at for e in shown.timeline[1:]] == [e.occurred_at for e in tap_events[1:]]
    # each duplicate planned the same notices: the same ids, once each
    ids = Counter(j.notification_id for j in jobs)
    assert set(ids.values()) == {2}


async def test_an_unreadable_feedback_record_is_dead_lettered_with_its_reason(
    settings: Settings, redis: Redis
) -> None:
    sid = unique("fbk-dl")
    sv = survey.survey_id(f"delivered-{sid}", 2)
    no_survey = sent(sid, sv, now_ms())
    no_survey.survey_sent.survey_id = ""
    good = sent(sid, sv, now_ms())
    async with running_tracker(settings):
        await produce(
            settings,
            settings.feedback_topic,
            [
                (sid.encode(), b"\x08\x96\x01garbage"),
                (sid.encode(), no_survey.SerializeToString()),
                (sid.encode(), good.SerializeToString()),
            ],
        )
        await eventually(
            lambda: consumed(settings, settings.feedback_group, settings.feedback_topic)
        )
        letters = await read_all(settings, settings.feedback_dead_letter_topic)
    reasons = sorted(dict(r.headers)["reason"].decode() for r in letters)
    assert len(reasons) == 2
    assert reasons[0].startswith("not a FeedbackEvent")
    assert reasons[1] == "survey_sent.survey_id missing"
    for letter in letters:
        assert dict(letter.headers)["source.topic"] == settings.feedback_topic.encode()
        assert letter.key == sid.encode()
    # the record after them is applied
    assert await FeedbackStore(redis, settings.opt_out_secret.encode()).survey(sid, sv) is not None


async def _flush(redis: Redis) -> None:
    if isinstance(redis, RedisCluster):
        await redis.flushall(target_nodes=RedisCluster.PRIMARIES)
    else:
        await redis.flushall()


async def test_rebuild_restores_the_surveys_and_cases_after_redis_lost_them(
    settings: Settings, redis: Redis
) -> None:
    sid, other = unique("fbk-rb"), unique("fbk-rb")
    delivered = status_event(sid, Status.DELIVERED)
    shipment_events = [registration_event(sid), delivered, registration_event(other)]
    sv = survey.survey_id(delivered.event_id, npb.PARTY_ROLE_RECIPIENT)
    open_sv = survey.survey_id(f"delivered-{other}", npb.PARTY_ROLE_SENDER)
    case_id, open_case = survey.case_id(sv), survey.case_id(open_sv)
    t = now_ms() - HOUR
    feedback_events = [
        sent(sid, sv, t, address=PHONE),
        answered(sid, sv, t + 1000, 1),
        opened(sid, sv, t + 1000, due_ms=t + 8 * HOUR),
        noted(sid, case_id, t + 2000, "left a message"),
        closed(sid, case_id, t + 3000),
        sent(other, open_sv, t, channel=pb.CHANNEL_EMAIL, address="ana@example.com"),
        answered(other, open_sv, t + 1000, 2, source=spb.ANSWER_SOURCE_EMAIL),
        opened(other, open_sv, t + 1000, due_ms=t + 2 * HOUR, depot="west", courier="c-9"),
    ]
    store = FeedbackStore(redis, settings.opt_out_secret.encode())
    async with running_tracker(settings):
        await produce(
            settings,
            settings.events_topic,
            [(e.shipment_id.encode(), e.SerializeToString()) for e in shipment_events],
        )
        await produce_feedback(settings, feedback_events)
        await eventually(lambda: consumed(settings, settings.tracker_group, settings.events_topic))
        await eventually(
            lambda: consumed(settings, settings.feedback_group, settings.feedback_topic)
        )
    before = (
        await store.survey(sid, sv),
        await store.case(case_id),
        await store.survey(other, open_sv),
        await store.case(open_case),
    )
    assert all(before)
    await _flush(redis)  # Redis comes back empty
    assert await store.survey(sid, sv) is None

    done = await rebuild(settings)
    assert (done.events, done.feedback, done.unreadable) == (3, 8, 0)
    after = (
        await store.survey(sid, sv),
        await store.case(case_id),
        await store.survey(other, open_sv),
        await store.case(open_case),
    )
    assert after == before
    assert await intact.intact(redis)
    # the lists, the number's reply key, and once-only: all as they were
    assert await redis.zscore(CASES_CLOSED, case_id) == t + 3000
    assert await redis.zscore(CASES_OPEN, open_case) == t + 2 * HOUR
    overdue = await store.cases(CaseFilter(state="overdue", depot="west"), now_ms() + 2 * HOUR)
    assert [c.case_id for c in overdue] == [open_case]
    found = await store.survey_by_phone(PHONE)
    assert found is not None
    assert (found.shipment_id, found.survey_id) == (sid, sv)
    digest = address_digest(settings.opt_out_secret.encode(), PHONE)
    assert await redis.get(sms_survey_key(digest)) == f"{sid}/{sv}".encode()
    again = await store.apply(feedback_events)
    assert all(d.duplicate for d in again)
    case = await store.case(case_id)
    assert case is not None
    assert [n.text for n in case.notes] == ["left a message"]
