"""The FeedbackStore on redis-server (and on a Redis Cluster, with
SHIPNOTIFY_TEST_REDIS_CLUSTER=1): each feedback event applied once, read back through the
readers hooks and status_api use; answers in and out of their window; the case lists and
their filters; the depot and courier a case is answerable to; an erasure."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis

from shipnotify.config import Settings
from shipnotify.model import survey
from shipnotify.model.status import Status
from shipnotify.store import TrackingStore
from shipnotify.store.digests import address_digest
from shipnotify.store.feedback import CaseFilter, FeedbackStore
from shipnotify.store.keys import (
    CASES_CLOSED,
    CASES_OPEN,
    case_key,
    cases_key,
    sms_survey_key,
    surveyed_key,
    surveys_key,
)
from shipnotify.store.replies import text
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.v1 import survey_pb2 as spb

from .conftest import unique
from .feedback_events import (
    DAY,
    HOUR,
    answered,
    closed,
    followed_up,
    noted,
    now_ms,
    opened,
    sent,
    taken,
)
from .test_dead_letters import registration_event, status_event

PHONE = "+37369123456"


@pytest.fixture
def store(settings: Settings, redis: Redis) -> FeedbackStore:
    return FeedbackStore(redis, settings.opt_out_secret.encode(), keep_days=30, answer_days=7)


def survey_of(sid: str, party: int = 2) -> str:
    return survey.survey_id(f"delivered-{sid}", party)


async def test_each_event_is_applied_once_and_reads_back(
    store: FeedbackStore, settings: Settings, redis: Redis
) -> None:
    sid = unique("fb")
    sv = survey_of(sid)
    case_id = survey.case_id(sv)
    t = now_ms() - 2 * HOUR
    events = [
        sent(sid, sv, t),
        answered(sid, sv, t + 60_000, 2),
        followed_up(sid, sv, t + 120_000, spb.REASON_DAMAGED, "the box was crushed"),
        opened(sid, sv, t + 60_000, due_ms=t + 8 * HOUR),
        taken(sid, case_id, t + 180_000),
        noted(sid, case_id, t + 240_000, "called, will redeliver"),
        closed(sid, case_id, t + 300_000),
    ]
    first = await store.apply(events)
    assert [d.duplicate for d in first] == [False] * 7
    assert [d.kept_out for d in first] == [False] * 7
    assert first[3].opened
    # each again, alone and as a batch: nothing changes
    again = [d for e in events for d in await store.apply([e])] + await store.apply(events)
    assert all(d.duplicate for d in again)
    assert not any(d.opened for d in again)

    got = await store.survey(sid, sv)
    assert got is not None
    assert got.sent == events[0].survey_sent
    assert got.sent_at_ms == t
    assert got.answer == events[1].survey_answered
    assert got.answered_at_ms == t + 60_000
    assert got.follow_up == events[2].follow_up_answered
    case = await store.case(case_id)
    assert case is not None
    assert (case.shipment_id, case.survey_id, case.state) == (sid, sv, "closed")
    assert (case.depot, case.courier_id, case.taken_by) == ("north", "c-7", "Mia")
    assert (case.opened_at_ms, case.due_at_ms) == (t + 60_000, t + 8 * HOUR)
    assert [(n.at_ms, n.text) for n in case.notes] == [(t + 240_000, "called, will redeliver")]
    assert case.closed == events[6].case_closed
    assert case.closed_at_ms == t + 300_000
    assert case.answer == events[1].survey_answered
    assert case.follow_up == events[2].follow_up_answered
    assert await redis.zscore(CASES_OPEN, case_id) is None
    assert await redis.zscore(CASES_CLOSED, case_id) == t + 300_000
    # who was asked is booked for the throttle, by the keyed hash of the number
    digest = address_digest(settings.opt_out_secret.encode(), PHONE)
    assert await redis.get(surveyed_key(digest)) == sv.encode()
    # the records live as long as the settings keep them
    assert 29 * 86400 < await redis.ttl(surveys_key(sid)) <= 30 * 86400
    assert 29 * 86400 < await redis.ttl(cases_key(sid)) <= 30 * 86400
    assert 29 * 86400 < await redis.ttl(case_key(case_id)) <= 30 * 86400


async def test_a_later_answer_replaces_the_earlier_within_the_window_and_is_kept_out_after(
    store: FeedbackStore,
) -> None:
    sid = unique("fb")
    sv = survey_of(sid)
    t = now_ms() - 10 * DAY
    await store.apply([sent(sid, sv, t), answered(sid, sv, t + DAY, 2)])
    [later] = await store.apply([answered(sid, sv, t + 3 * DAY, 4)])
    assert not later.kept_out
    [late] = await store.apply([answered(sid, sv, t + 8 * DAY, 1)])
    assert late.kept_out
    assert not late.duplicate
    [late_again] = await store.apply([answered(sid, sv, t + 8 * DAY, 1)])
    assert late_again.duplicate
    assert late_again.kept_out
    got = await store.survey(sid, sv)
    assert got is not None
    assert got.answer is not None
    assert (got.answer.score, got.answered_at_ms, got.first_answered_at_ms) == (
        4,
        t + 3 * DAY,
        t + DAY,
    )
    assert not got.takes_answers(now_ms(), 7)


async def test_a_reply_finds_the_latest_survey_sent_to_its_number_while_it_takes_answers(
    store: FeedbackStore, settings: Settings, redis: Redis
) -> None:
    phone = f"+3736{uuid.uuid4().int % 10**7:07d}"
    first, second, old = unique("fb"), unique("fb"), unique("fb")
    t = now_ms() - DAY
    await store.apply([sent(first, survey_of(first), t, address=phone)])
    found = await store.survey_by_phone(phone)
    assert found is not None
    assert (found.shipment_id, found.survey_id) == (first, survey_of(first))
    await store.apply([sent(second, survey_of(second), t + HOUR, address=phone)])
    found = await store.survey_by_phone(phone)
    assert found is not None
    assert found.shipment_id == second
    # the earlier survey's redelivery does not take the number back
    await store.apply([sent(first, survey_of(first), t, address=phone)])
    found = await store.survey_by_phone(phone)
    assert found is not None
    assert found.shipment_id == second
    key = sms_survey_key(address_digest(settings.opt_out_secret.encode(), phone))
    # answer_days (7) after the second was sent, a day less an hour ago
    assert 6 * 86400 < await redis.ttl(key) <= 6 * 86400 + 3600
    # one sent longer ago than its window answers nothing; an email survey, no reply
    other = f"+3736{uuid.uuid4().int % 10**7:07d}"
    await store.apply([sent(old, survey_of(old), t - 7 * DAY, address=other)])
    assert await store.survey_by_phone(other) is None
    await store.apply(
        [sent(old, survey_of(old, 1), t, channel=pb.CHANNEL_EMAIL, address="a@x.example")]
    )
    assert await store.survey_by_phone("a@x.example") is None
    assert await store.survey_by_phone(f"+3736{uuid.uuid4().int % 10**7:07d}") is None


async def test_the_case_lists_filter_by_state_depot_and_courier_in_their_order(
    store: FeedbackStore,
) -> None:
    depot = unique("depot")
    now = now_ms()
    ids = {}
    events = []
    for name, due, courier in (
        ("overdue", now - 2 * HOUR, "c-1"),
        ("taken", now - HOUR, "c-2"),
        ("due", now + HOUR, "c-1"),
        ("done", now - 3 * HOUR, "c-2"),
    ):
        sid = unique(f"fb-{name}")
        sv = survey_of(sid)
        ids[name] = survey.case_id(sv)
        events += [
            sent(sid, sv, now - 5 * HOUR),
            answered(sid, sv, now - 4 * HOUR, 1),
            opened(sid, sv, now - 4 * HOUR, due_ms=due, depot=depot, courier=courier),
        ]
        if name == "taken":
            events.append(taken(sid, ids[name], now - 3 * HOUR))
        if name == "done":
            events.append(closed(sid, ids[name], now - 2 * HOUR))
    overdue_before = await store.overdue_count(now)
    await store.apply(events)
    assert await store.overdue_count(now) == overdue_before + 2

    async def listed(**which: object) -> list[str]:
        found = await store.cases(CaseFilter(depot=depot, **which), now)  # type: ignore[arg-type]
        return [c.case_id for c in found]

    assert await listed() == [ids["overdue"], ids["taken"], ids["due"]]  # "open" by due time
    assert await listed(state="overdue") == [ids["overdue"], ids["taken"]]
    assert await listed(state="closed") == [ids["done"]]
    assert await listed(state=None) == [ids["overdue"], ids["taken"], ids["due"], ids["done"]]
    assert await listed(courier_id="c-1") == [ids["overdue"], ids["due"]]
    assert await listed(state=None, courier_id="c-2") == [ids["taken"], ids["done"]]
    assert await listed(state=None, limit=2) == [ids["overdue"], ids["taken"]]
    [in_progress] = await store.cases(CaseFilter(depot=depot, courier_id="c-2"), now)
    assert (in_progress.state, in_progress.taken_by) == ("in_progress", "Mia")
    assert in_progress.overdue(now)
    assert await store.cases(CaseFilter(depot=unique("nowhere"), state=None), now) == []
    # later, the one still due is overdue too
    late = await store.cases(CaseFilter(depot=depot, state="overdue"), now + 2 * HOUR)
    assert [c.case_id for c in late] == [ids["overdue"], ids["taken"], ids["due"]]


async def test_changes_to_one_shipments_feedback_made_at_once_are_all_kept(
    store: FeedbackStore, settings: Settings, redis: Redis
) -> None:
    """Two writers of one shipment's feedback (a rebalance's two consumers) never undo each
    other: each write checks that nobody wrote since it read."""
    sid = unique("fb")
    sv = survey_of(sid)
    t = now_ms() - HOUR
    case_id = survey.case_id(sv)
    await store.apply([sent(sid, sv, t), opened(sid, sv, t, due_ms=t + 8 * HOUR)])
    other = FeedbackStore(redis, settings.opt_out_secret.encode(), keep_days=30)
    notes = [noted(sid, case_id, t + i, f"note {i}") for i in range(12)]
    for i in range(0, 12, 2):
        await asyncio.gather(store.apply([notes[i]]), other.apply([notes[i + 1]]))
    case = await store.case(case_id)
    assert case is not None
    assert sorted(n.text for n in case.notes) == sorted(f"note {i}" for i in range(12))


async def test_the_depot_and_courier_a_case_is_answerable_to(
    store: FeedbackStore, redis: Redis
) -> None:
    tracking = TrackingStore(redis)
    with_depot, by_timeline = unique("ctx"), unique("ctx")
    registered = registration_event(with_depot)
    registered.registered.depot = "central"
    registered.registered.courier_id = "c-assigned"
    await tracking.apply([registered])
    assert await store.shipment_context(with_depot) == ("central", "c-assigned")

    events = [registration_event(by_timeline)]
    for status, depot, minutes in (
        (Status.PICKED_UP, "hub-1", 50),
        (Status.IN_TRANSIT, "hub-2", 40),
        (Status.OUT_FOR_DELIVERY, "", 30),
    ):
        event = status_event(by_timeline, status)
        event.occurred_at.FromMilliseconds(now_ms() - minutes * 60_000)
        if depot:
            event.status_changed.location.depot = depot
        events.append(event)
    delivered = status_event(by_timeline, Status.DELIVERED)
    delivered.status_changed.courier_id = "c-delivering"
    events.append(delivered)
    await tracking.apply(events)
    # the latest entry that names a depot; nobody assigned: who delivered it
    assert await store.shipment_context(by_timeline) == ("hub-2", "c-delivering")
    assert await store.shipment_context(unique("unknown")) == ("", "")


async def test_an_erasure_takes_the_surveys_person_and_sms_reply_key(
    store: FeedbackStore, settings: Settings, redis: Redis
) -> None:
    sid = unique("erase")
    phone = f"+3736{uuid.uuid4().int % 10**7:07d}"
    t = now_ms() - HOUR
    tracking = TrackingStore(redis)
    await tracking.apply([registration_event(sid)])
    await store.apply([sent(sid, survey_of(sid), t, address=phone)])
    assert await store.survey_by_phone(phone) is not None
    erasure = pb.ShipmentEvent(event_id=str(uuid.uuid4()), shipment_id=sid)
    erasure.occurred_at.FromMilliseconds(t + 60_000)
    erasure.recorded_at.FromMilliseconds(t + 60_000)
    erasure.contacts_erased.SetInParent()
    await tracking.apply([erasure])

    got = await store.survey(sid, survey_of(sid))
    assert got is not None
    assert got.sent is not None
    assert (got.sent.address, got.sent.name, got.sent.locale) == ("", "", "ro")
    assert await store.survey_by_phone(phone) is None
    key = sms_survey_key(address_digest(settings.opt_out_secret.encode(), phone))
    assert await redis.exists(key) == 0
    records = await redis.hgetall(surveys_key(sid))
    assert not any(phone in text(record) for record in records.values())
    # a survey sent before the erasure and applied after it comes without them
    await store.apply([sent(sid, survey_of(sid, 1), t + 30_000, address=phone)])
    late = await store.survey(sid, survey_of(sid, 1))
    assert late is not None
    assert late.sent is not None
    assert late.sent.address == ""
    assert await store.survey_by_phone(phone) is None
    await tracking.apply([erasure])  # a redelivered erasure changes nothing more
    assert await store.survey(sid, survey_of(sid, 1)) == late
