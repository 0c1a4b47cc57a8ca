"""What a webhook says and when (model/webhooks.py): ids, payloads, fan-out, answers."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from shipnotify.model import webhooks as wh
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import shipment_events_pb2 as pb

pytestmark = pytest.mark.redis_agnostic

AT = datetime(2026, 12, 2, 4, 23, 23, 123000, tzinfo=UTC)


def message(event_type: str = wh.STATUS_CHANGED, cause: str = "ev-1") -> wh.Message:
    return wh.make(
        event_type,
        cause,
        account_id="acct_aaaaaaaaaaaa",
        shipment_id="S-1",
        tracking_id="trk",
        version=7,
        at=AT,
        data=wh.status_changed_data(
            shipment_id="S-1",
            tracking_id="trk",
            version=7,
            status=pb.STATUS_DELIVERY_ATTEMPTED,
            occurred_at=AT,
            failure=pb.ATTEMPT_FAILURE_RECIPIENT_ABSENT,
            location={"depot": "Chisinau depot", "country_code": "MD"},
        ),
    )


def test_a_message_id_is_the_same_for_the_same_cause_only() -> None:
    first = wh.message_id(wh.STATUS_CHANGED, "ev-1")
    assert first == wh.message_id(wh.STATUS_CHANGED, "ev-1")
    assert first != wh.message_id(wh.STATUS_CHANGED, "ev-2")
    assert first != wh.message_id(wh.NOTICE_SENT, "ev-1")
    assert first.startswith("msg_")
    assert uuid.UUID(hex=first[4:]).version == 5
    assert len(first) == 4 + 32


def test_notification_ids_per_endpoint_and_per_replay() -> None:
    msg = wh.message_id(wh.STATUS_CHANGED, "ev-1")
    a, b = wh.notification_id(msg, "ep_a"), wh.notification_id(msg, "ep_b")
    assert a != b
    assert a == str(uuid.uuid5(uuid.UUID(hex=msg[4:]), "ep_a"))
    replay = wh.replay_notification_id(a, "replay-event")
    assert replay not in (a, b)
    assert replay == wh.replay_notification_id(a, "replay-event")


def test_the_payload_is_compact_json_in_the_recommended_shape() -> None:
    body = message().payload
    assert b" " not in body.replace(b"Chisinau depot", b"")
    assert orjson.loads(body) == {
        "type": "shipment.status_changed",
        "timestamp": "2026-12-02T04:23:23.123Z",
        "data": {
            "shipment_id": "S-1",
            "tracking_id": "trk",
            "version": 7,
            "status": "delivery_attempted",
            "occurred_at": "2026-12-02T04:23:23.123Z",
            "failure": "recipient_absent",
            "location": {"depot": "Chisinau depot", "country_code": "MD"},
        },
    }
    assert message().payload == body  # made again from the same event: the same bytes


def endpoint(eid: str, *types: str, disabled: bool = False) -> apb.Endpoint:
    return apb.Endpoint(endpoint_id=eid, url="https://x", event_types=types, disabled=disabled)


def test_fan_out_to_endpoints_that_hear_the_type_and_are_not_disabled() -> None:
    endpoints = [
        endpoint("ep_all"),
        endpoint("ep_status", wh.STATUS_CHANGED),
        endpoint("ep_notices", wh.NOTICE_SENT, wh.NOTICE_FAILED),
        endpoint("ep_off", disabled=True),
    ]
    msg = message()
    jobs = wh.fan_out(msg, endpoints)
    assert [j.address for j in jobs] == ["ep_all", "ep_status"]
    for job in jobs:
        assert job.channel == pb.CHANNEL_WEBHOOK
        assert job.webhook.endpoint_id == job.address
        assert job.webhook.message_id == msg.message_id
        assert job.webhook.payload == msg.payload
        assert job.webhook.account_id == "acct_aaaaaaaaaaaa"
        assert job.webhook.created_at.ToMilliseconds() == msg.created_ms
        assert job.notification_id == wh.notification_id(msg.message_id, job.address)
    assert [j.address for j in wh.fan_out(message(wh.NOTICE_SENT), endpoints)] == [
        "ep_all",
        "ep_notices",
    ]
    assert wh.fan_out(msg, []) == []


@pytest.mark.parametrize(
    ("status", "meant"),
    [
        (200, "sent"),
        (204, "sent"),
        (299, "sent"),
        (410, "gone"),
        (429, "retry_after"),
        (503, "retry_after"),
        (500, "retry"),
        (404, "retry"),
        (400, "retry"),
        (301, "retry"),
        (502, "retry"),
    ],
)
def test_what_an_answer_means(status: int, meant: str) -> None:
    assert wh.meaning(status) == meant


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert wh.retry_after_s("120", now=AT) == 120.0
    now = AT.replace(microsecond=0)
    later = now + timedelta(seconds=90)
    assert wh.retry_after_s(later.strftime("%a, %d %b %Y %H:%M:%S GMT"), now=now) == 90.0
    assert wh.retry_after_s("Mon, 01 Jan 2001 00:00:00 GMT", now=AT) == 0.0
    assert wh.retry_after_s("soon", now=AT) is None
    assert wh.retry_after_s(None, now=AT) is None


SCHEDULE = wh.Schedule(first_s=10.0, max_delay_s=3600.0, max_age_s=80 * 3600)


def test_retries_back_off_with_jitter_up_to_the_cap() -> None:
    rng = random.Random(1)
    now = 1_000_000
    for attempt, delay in [(1, 10.0), (2, 20.0), (5, 160.0), (30, 3600.0)]:
        dues = {
            wh.next_try_ms(
                attempt, created_ms=now, now_ms=now, retry_after=None, schedule=SCHEDULE, rng=rng
            )
            for _ in range(50)
        }
        assert None not in dues
        assert all(now + delay * 500 <= d <= now + delay * 1000 for d in dues if d is not None)
        assert len(dues) > 1  # jitter: not all at once


def test_a_retry_after_is_honoured() -> None:
    now = 1_000_000
    due = wh.next_try_ms(1, created_ms=now, now_ms=now, retry_after=600.0, schedule=SCHEDULE)
    assert due is not None
    assert due >= now + 600_000


def test_past_the_maximum_age_it_is_a_dead_letter() -> None:
    created = 0
    age_ms = int(SCHEDULE.max_age_s * 1000)
    kept = wh.next_try_ms(9, created_ms=created, now_ms=age_ms, retry_after=None, schedule=SCHEDULE)
    assert kept is not None
    assert (
        wh.next_try_ms(
            9, created_ms=created, now_ms=age_ms + 1, retry_after=None, schedule=SCHEDULE
        )
        is None
    )


def test_which_notice_ends_tell_the_endpoints() -> None:
    assert wh.notice_event_type(pb.CHANNEL_SMS, "sent") == wh.NOTICE_SENT
    assert wh.notice_event_type(pb.CHANNEL_EMAIL, "rejected") == wh.NOTICE_FAILED
    assert wh.notice_event_type(pb.CHANNEL_PUSH, "dead") == wh.NOTICE_FAILED
    for state in ("superseded", "opted_out", "cancelled", "gone", "throttled"):
        assert wh.notice_event_type(pb.CHANNEL_SMS, state) is None
    # a webhook's own end tells no webhook
    assert wh.notice_event_type(pb.CHANNEL_WEBHOOK, "sent") is None
    assert wh.notice_event_type(pb.CHANNEL_WEBHOOK, "dead") is None


def test_an_endpoint_disabled_for_one_cause_is_one_event() -> None:
    first = wh.disabled_event_id("ep_1", "failing since 1000")
    assert first == wh.disabled_event_id("ep_1", "failing since 1000")
    assert first != wh.disabled_event_id("ep_1", "failing since 2000")
    assert first != wh.disabled_event_id("ep_2", "failing since 1000")
    assert uuid.UUID(first).version == 5
