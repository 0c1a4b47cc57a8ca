"""The per-day satisfaction figures on redis-server: a survey counts once, on its delivery's
day and hour in the carrier's time zone, in every cut and in its account's; a later answer
replaces its earlier one, a redelivered event changes nothing, and `rebuild` restores them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from shipnotify.config import Settings
from shipnotify.model import survey
from shipnotify.model.status import Status
from shipnotify.model.survey_days import cells
from shipnotify.store import TrackingStore, intact
from shipnotify.store.feedback import FeedbackStore
from shipnotify.store.keys import STORE_MARKER, survey_cut_key
from shipnotify.store.replies import text
from shipnotify.store.survey_days import Group, Settled, SurveyDays, made
from shipnotify.tracker.rebuild import rebuild
from shipnotify.tracker.service import feedback_store
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.v1 import survey_pb2 as spb
from tests.offsets import consumed

from .conftest import eventually, running_tracker, unique
from .feedback_events import answered, followed_up, produce_feedback, sent
from .test_dead_letters import produce, registration_event, status_event

ZONE = ZoneInfo("Europe/Chisinau")
CSAT = spb.SCALE_CSAT


def three_days_ago_at(hour: int, minute: int) -> datetime:
    day = datetime.now(ZONE).date() - timedelta(days=3)
    return datetime.combine(day, time(hour, minute), ZONE)


async def delivered(redis: Redis, sid: str, account: str, at: datetime) -> list[pb.ShipmentEvent]:
    registered = registration_event(sid)
    registered.registered.account_id = account
    registered.registered.depot = "north"
    registered.occurred_at.FromDatetime(at - timedelta(hours=2))
    done = status_event(sid, Status.DELIVERED)
    done.occurred_at.FromDatetime(at)
    await TrackingStore(redis).apply([registered, done])
    return [registered, done]


def store(settings: Settings, redis: Redis) -> FeedbackStore:
    return feedback_store(settings.with_(time_zone=ZONE.key), redis)


async def cut(
    redis: Redis, at: datetime, name: str, account: str, settings: Settings
) -> dict[str, int]:
    days = store(settings, redis).days
    assert days is not None
    [counts] = await days.each_day(at.date(), at.date(), name, account=account)
    return {text(k): int(v) for k, v in counts.items() if int(v)}


async def test_a_survey_counts_once_and_a_later_answer_replaces_its_earlier(
    settings: Settings, redis: Redis
) -> None:
    account, sid = f"acct_{uuid.uuid4().hex[:12]}", unique("days")
    at = three_days_ago_at(10, 15)
    events = await delivered(redis, sid, account, at)
    sv = survey.survey_id(events[-1].event_id, npb.PARTY_ROLE_RECIPIENT)
    ms = int(at.timestamp() * 1000)
    first = [
        sent(sid, sv, ms + 60_000),
        answered(sid, sv, ms + 120_000, 2),
        followed_up(sid, sv, ms + 180_000, spb.REASON_LATE),
    ]
    feedback = store(settings, redis)
    await feedback.apply(first)
    await feedback.apply(first)  # redelivered: nothing changes
    hour = f"{at.weekday()}:10"
    assert await cut(redis, at, "all", account, settings) == {
        f"{CSAT}|*|s": 1,
        f"{CSAT}|*|2": 1,
        f"{CSAT}|*|u": 1,
    }
    assert await cut(redis, at, "hour", account, settings) == {
        f"{CSAT}|{hour}|s": 1,
        f"{CSAT}|{hour}|2": 1,
        f"{CSAT}|{hour}|u": 1,
    }
    assert await cut(redis, at, "depot", account, settings) == {
        f"{CSAT}|north|s": 1,
        f"{CSAT}|north|2": 1,
        f"{CSAT}|north|u": 1,
    }
    assert await cut(redis, at, "channel", account, settings) == {
        f"{CSAT}|sms|s": 1,
        f"{CSAT}|sms|2": 1,
        f"{CSAT}|sms|u": 1,
    }
    assert await cut(redis, at, "reason", account, settings) == {f"{CSAT}|{spb.REASON_LATE}|u": 1}
    # the same in every shipment's figures (other tests add theirs beside it)
    everyone = await cut(redis, at, "party", "", settings)
    assert everyone[f"{CSAT}|recipient|2"] >= 1

    await feedback.apply([answered(sid, sv, ms + 240_000, 5)])  # a change of mind
    assert await cut(redis, at, "all", account, settings) == {f"{CSAT}|*|s": 1, f"{CSAT}|*|5": 1}
    # the month's sum changed with its day: a period of the whole month reads it alone
    days = store(settings, redis).days
    assert days is not None
    start = at.date().replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    month = await days.read(start, end, "hour", account=account)
    assert (len(month.plus), month.minus) == (1, [])
    found = cells(month.plus, CSAT)
    assert (found[hour].scores, found[hour].sent, found[hour].unhappy) == ({5: 1}, 1, 0)
    assert await cut(redis, at, "reason", account, settings) == {}
    after = await cut(redis, at, "party", "", settings)
    assert after.get(f"{CSAT}|recipient|2", 0) == everyone[f"{CSAT}|recipient|2"] - 1


async def test_a_survey_counts_on_its_delivery_s_day_in_the_carrier_s_time_zone(
    settings: Settings, redis: Redis
) -> None:
    account, sid = f"acct_{uuid.uuid4().hex[:12]}", unique("days")
    at = three_days_ago_at(0, 30)  # 22:30 UTC the day before
    events = await delivered(redis, sid, account, at)
    sv = survey.survey_id(events[-1].event_id, npb.PARTY_ROLE_SENDER)
    ms = int(at.timestamp() * 1000)
    await store(settings, redis).apply(
        [sent(sid, sv, ms + 86_400_000, party=npb.PARTY_ROLE_SENDER)]  # asked the next day
    )
    assert await cut(redis, at, "hour", account, settings) == {f"{CSAT}|{at.weekday()}:0|s": 1}
    assert await cut(redis, at, "party", account, settings) == {f"{CSAT}|sender|s": 1}
    days = store(settings, redis).days
    assert days is not None
    [day_before] = await days.each_day(
        at.date() - timedelta(1), at.date() - timedelta(1), "all", account=account
    )
    assert not any(int(v) for v in day_before.values())


async def test_rebuild_restores_the_figures_after_redis_lost_them(
    settings: Settings, redis: Redis
) -> None:
    settings = settings.with_(time_zone=ZONE.key)
    account, sid = f"acct_{uuid.uuid4().hex[:12]}", unique("days")
    at = three_days_ago_at(14, 5)
    events = await delivered(redis, sid, account, at)
    sv = survey.survey_id(events[-1].event_id, npb.PARTY_ROLE_RECIPIENT)
    ms = int(at.timestamp() * 1000)
    feedback = [sent(sid, sv, ms + 60_000), answered(sid, sv, ms + 120_000, 4)]
    records = [(sid.encode(), e.SerializeToString()) for e in events]
    async with running_tracker(settings):  # applies them, and the figures with them
        await produce(settings, settings.events_topic, records)
        await produce_feedback(settings, feedback)
        await eventually(
            lambda: consumed(settings, settings.feedback_group, settings.feedback_topic)
        )
    expected = {f"{CSAT}|*|s": 1, f"{CSAT}|*|4": 1}
    assert await cut(redis, at, "all", account, settings) == expected
    await rebuild(settings)  # onto a Redis that has them: changes nothing
    assert await cut(redis, at, "all", account, settings) == expected
    if isinstance(redis, RedisCluster):
        await redis.flushall(target_nodes=RedisCluster.PRIMARIES)
    else:
        await redis.flushall()
    assert await cut(redis, at, "all", account, settings) == {}
    await rebuild(settings)
    assert await cut(redis, at, "all", account, settings) == expected


async def test_a_long_closed_surveys_events_replayed_apart_count_once(
    settings: Settings, redis: Redis
) -> None:
    """A rebuild or an import of history brings a survey's events long after its day: the
    answer still replaces the part its sending wrote, not adds to it."""
    account, sid = f"acct_{uuid.uuid4().hex[:12]}", unique("days")
    at = datetime.combine(datetime.now(ZONE).date() - timedelta(days=20), time(11, 0), ZONE)
    events = await delivered(redis, sid, account, at)
    sv = survey.survey_id(events[-1].event_id, npb.PARTY_ROLE_RECIPIENT)
    ms = int(at.timestamp() * 1000)
    feedback = store(settings, redis)
    await feedback.apply([sent(sid, sv, ms + 60_000)])
    await feedback.apply([answered(sid, sv, ms + 120_000, 4)])
    assert await cut(redis, at, "all", account, settings) == {f"{CSAT}|*|s": 1, f"{CSAT}|*|4": 1}


async def test_a_settled_month_is_summed_once_until_a_rebuild_marks_the_store_again(
    redis: Redis,
) -> None:
    """A year's page reads the months no answer can change any more once: a month's hash
    changed behind the console's back (as nothing does) is not read again, while the last
    days are; a rebuild (the store's marker anew) or the sum's age makes it read again, and
    Redis without its marker (lost) keeps nothing. (The marker is put back: the worker's
    Redis is the next test's.)"""
    today = datetime.now(ZONE).date()
    old_month = (today.replace(day=1) - timedelta(days=100)).isoformat()[:7]
    yesterday = (today - timedelta(days=1)).isoformat()
    name, account = f"{CSAT}|*|5", unique("acct")  # this test's cells alone

    async def write(period: str, n: int) -> None:
        await redis.hset(survey_cut_key(period, "all", account), name, n)

    async def read(days: SurveyDays) -> int:
        first = date.fromisoformat(old_month + "-01")
        span = (await days.read_cuts(first, today, ["all"], account=account))[0]["all"]
        return cells(span.plus, CSAT, minus=span.minus)["*"].scores[5]

    await write(old_month, 7)
    await write(yesterday, 1)
    days = SurveyDays(redis, ZONE)
    await redis.set(STORE_MARKER, uuid.uuid4().hex)  # as a rebuild marks it
    assert await read(days) == 8
    await write(old_month, 20)
    await write(yesterday, 2)
    assert await read(days) == 9  # the settled month as summed; yesterday read again
    await redis.set(STORE_MARKER, uuid.uuid4().hex)
    assert await read(days) == 22
    await write(old_month, 30)
    days.settled.for_s = 0.0
    assert await read(days) == 32
    days.settled.for_s = 300.0
    marker = await redis.get(STORE_MARKER)
    await redis.delete(STORE_MARKER)  # Redis lost: what is read is kept no more
    try:
        assert await read(days) == 32
        await write(old_month, 40)
        assert await read(days) == 42
    finally:
        await redis.set(STORE_MARKER, marker or b"1")


async def test_settled_sums_past_their_bound_go_oldest_first(redis: Redis) -> None:
    await intact.mark(redis)
    settled = Settled(max_fields=3)
    months = ["2024-01", "2024-02", "2024-03"]
    for i, month in enumerate(months):
        await redis.hset(survey_cut_key(month, "all"), mapping={"a": i, "b": i})
    groups = [Group((survey_cut_key(m, "all"),), settled=True) for m in months]
    for group in groups:
        await settled.read(redis, [group])
    await redis.hset(survey_cut_key(months[0], "all"), "a", 100)
    await redis.hset(survey_cut_key(months[2], "all"), "a", 100)
    found = await settled.read(redis, groups)
    assert [int(f[0][b"a"]) for f in found] == [100, 1, 2]  # the first had gone; the last kept


async def test_what_is_made_of_a_settled_sum_is_made_once_and_of_a_fresh_hash_each_read(
    redis: Redis,
) -> None:
    await intact.mark(redis)
    settled = Settled()
    old, fresh = (
        survey_cut_key("2024-05", "all", unique("acct")),
        survey_cut_key(datetime.now(ZONE).date().isoformat(), "all", unique("acct")),
    )
    await redis.hset(old, "a", 3)
    await redis.hset(fresh, "a", 4)
    groups = [Group((old,), settled=True), Group((fresh,), settled=False)]
    makes: list[int] = []

    def total(counts: Mapping[Any, Any]) -> int:
        makes.append(1)
        return sum(int(n) for n in counts.values())

    for _ in range(3):
        [[kept], [now]] = await settled.read(redis, groups)
        assert (made(kept, "total", total), made(now, "total", total)) == (3, 4)
    assert len(makes) == 1 + 3  # the settled sum's once, the fresh hash's each time


async def test_a_sum_dropped_for_its_age_is_read_again_and_a_younger_one_kept(
    redis: Redis,
) -> None:
    """The console's warm-up (console/kpis.py `warm`) drops the sums near their lifetime and
    reads them again before a page finds them lapsed."""
    await intact.mark(redis)
    settled = Settled()
    key = survey_cut_key("2024-07", "all", unique("acct"))
    await redis.hset(key, "a", 1)
    group = Group((key,), settled=True)
    await settled.read(redis, [group])
    await redis.hset(key, "a", 2)
    settled.drop_older(60.0)  # read a moment ago: kept
    assert int((await settled.read(redis, [group]))[0][0][b"a"]) == 1
    settled.drop_older(0.0)
    assert int((await settled.read(redis, [group]))[0][0][b"a"]) == 2
