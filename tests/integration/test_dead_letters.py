"""Unreadable records on both topics: each goes to its dead-letter topic with a reason, and
the running tracker and notifier go on with the records after it.

test_tracking and test_notifier each have one malformed record; these add the other kinds
(empty and null values, truncated protobuf, the other topic's message, missing ids, random
bytes) and check that a valid record produced after them is still processed.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Sequence

import pytest
from aiokafka import ConsumerRecord
from google.protobuf.message import DecodeError
from redis.asyncio import Redis

from shipnotify import kafka
from shipnotify.config import Settings
from shipnotify.model.codec import MalformedEvent, decode_event
from shipnotify.model.notices import plan
from shipnotify.model.status import Status
from shipnotify.notifier.redrive import redrive
from shipnotify.store import TrackingStore
from shipnotify.store.notices import NoticeBook
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb
from tests.offsets import consumed, read_all

from .conftest import eventually, notifier_idle, running_tracker
from .test_notifier import FakeSender, fast, jobs_for, running_notifier

SMS, EMAIL = pb.CHANNEL_SMS, pb.CHANNEL_EMAIL
Case = tuple[str, bytes | None, str]  # what it is, the record value, the reason it starts with


def _now_ms(minutes_ago: int = 0) -> int:
    return int(time.time() * 1000) - minutes_ago * 60_000


def registration_event(shipment_id: str) -> pb.ShipmentEvent:
    event = pb.ShipmentEvent(event_id=str(uuid.uuid4()), shipment_id=shipment_id)
    event.occurred_at.FromMilliseconds(_now_ms(minutes_ago=10))
    event.recorded_at.FromMilliseconds(_now_ms(minutes_ago=10))
    event.registered.tracking_id = "d" * 20
    event.registered.sender.contacts.add(
        name="Shop", email="desk@shop.example", channels=[EMAIL], time_zone="Europe/Chisinau"
    )
    event.registered.recipient.contacts.add(
        name="Ion", phone="+37369123456", channels=[SMS], time_zone="Europe/Chisinau"
    )
    return event


def status_event(shipment_id: str, status: Status) -> pb.ShipmentEvent:
    event = pb.ShipmentEvent(
        event_id=str(uuid.uuid4()), shipment_id=shipment_id, source=pb.SOURCE_COURIER_APP
    )
    event.occurred_at.GetCurrentTime()
    event.recorded_at.GetCurrentTime()
    event.status_changed.status = status.proto
    return event


def random_values(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(rng.randint(1, 200)) for _ in range(count)]


@pytest.fixture
def sid() -> str:
    """A shipment of this test alone: notice states in Redis are not per topic."""
    return f"dl-{uuid.uuid4().hex[:8]}"


def bad_events(sid: str) -> list[Case]:
    event = status_event(sid, Status.PICKED_UP).SerializeToString()
    job = plan(status_event(sid, Status.DELIVERED), registration_event(sid).registered)
    no_shipment = status_event("", Status.PICKED_UP)
    no_event_id = status_event(sid, Status.PICKED_UP)
    no_event_id.ClearField("event_id")
    return [
        ("empty value", b"", "empty record"),
        ("null value", None, "empty record"),
        ("truncated ShipmentEvent", event[: len(event) // 2], "not a ShipmentEvent"),
        ("a NotificationJob", job[0].SerializeToString(), "not a ShipmentEvent"),
        ("no shipment_id", no_shipment.SerializeToString(), "shipment_id is empty"),
        ("no event_id", no_event_id.SerializeToString(), "event_id is not a UUID: ''"),
        *(
            (f"random bytes {i}", raw, _reason(raw))
            for i, raw in enumerate(random_values(20240611, 4))
        ),
    ]


def _reason(raw: bytes) -> str:
    try:
        decode_event(raw)
    except MalformedEvent as e:
        return str(e)
    raise AssertionError(f"random bytes made a valid event: {raw!r}")


def bad_jobs(sid: str) -> list[Case]:
    job = npb.NotificationJob.FromString(jobs_for(Status.DELIVERED, shipment_id=sid)[0])
    raw = job.SerializeToString()
    no_id = npb.NotificationJob()
    no_id.CopyFrom(job)
    no_id.ClearField("notification_id")
    reason = "not a NotificationJob"
    cases: list[Case] = [
        ("empty value", b"", reason),
        ("null value", None, reason),
        ("truncated NotificationJob", raw[: len(raw) // 2], reason),
        ("a ShipmentEvent", status_event(sid, Status.DELIVERED).SerializeToString(), reason),
        ("a job without notification_id", no_id.SerializeToString(), reason),
        *((f"random bytes {i}", raw, reason) for i, raw in enumerate(random_values(7, 4))),
    ]
    for what, value, _ in cases[2:]:  # otherwise the case tests nothing
        assert not _parses_as_a_job(value), what
    return cases


def _parses_as_a_job(value: bytes | None) -> bool:
    try:
        return bool(npb.NotificationJob.FromString(value or b"").notification_id)
    except DecodeError:
        return False


async def produce(
    settings: Settings, topic: str, records: Sequence[tuple[bytes | None, bytes | None]]
) -> set[tuple[bytes | None, int, int]]:
    """Produces the records in order; returns where each went: (key, partition, offset)."""
    await kafka.ensure_topics(settings)
    producer = kafka.producer(settings)
    await producer.start()
    placed = set()
    try:
        for key, value in records:
            meta = await producer.send_and_wait(topic, key=key, value=value)
            placed.add((key, meta.partition, meta.offset))
    finally:
        await producer.stop()
    return placed


def check_letters(letters: Sequence[ConsumerRecord], cases: Sequence[Case]) -> None:
    """One letter per case, with its value (a null value as empty) and its reason."""
    assert Counter(r.value for r in letters) == Counter(v or b"" for _, v, _ in cases)
    for what, value, reason in cases:
        for letter in (r for r in letters if r.value == (value or b"")):
            assert dict(letter.headers)["reason"].decode().startswith(reason), what


async def test_the_tracker_dead_letters_every_unreadable_record_and_goes_on(
    settings: Settings, redis: Redis, sid: str
) -> None:
    key, cases = sid.encode(), bad_events(sid)
    store = TrackingStore(redis)
    registered = registration_event(sid)
    picked_up = status_event(sid, Status.PICKED_UP)
    async with running_tracker(settings):
        offsets = await produce(
            settings,
            settings.events_topic,
            [(None if i == 0 else key, value) for i, (_, value, _) in enumerate(cases)],
        )
        await eventually(lambda: consumed(settings, settings.tracker_group, settings.events_topic))
        letters = await read_all(settings, settings.events_dead_letter_topic)
        # The tracker has dead-lettered them all; what comes next is still applied.
        await produce(
            settings,
            settings.events_topic,
            [(key, registered.SerializeToString()), (key, picked_up.SerializeToString())],
        )

        async def picked() -> bool:
            shipment = await store.shipment(sid)
            return shipment is not None and shipment.status is Status.PICKED_UP

        await eventually(picked)
        await eventually(lambda: consumed(settings, settings.tracker_group, settings.events_topic))
    check_letters(letters, cases)
    assert Counter(r.key for r in letters) == {None: 1, key: len(cases) - 1}
    for letter in letters:  # where each came from, for whoever looks into it
        headers = dict(letter.headers)
        assert headers["source.topic"] == settings.events_topic.encode()
        place = (int(headers["source.partition"]), int(headers["source.offset"]))
        assert (letter.key, *place) in offsets
    shipment = await store.shipment(sid)
    assert shipment is not None
    assert shipment.tracking_id == "d" * 20
    assert [e.status for e in shipment.timeline] == [Status.REGISTERED, Status.PICKED_UP]
    # Only the valid event made jobs: picked up, to the sender by email and the recipient by SMS.
    jobs = await read_all(settings, settings.notifications_topic)
    assert sorted(r.value for r in jobs) == sorted(
        j.SerializeToString() for j in plan(picked_up, registered.registered)
    )


async def test_the_notifier_dead_letters_every_unreadable_job_and_goes_on(
    settings: Settings, redis: Redis, sid: str
) -> None:
    settings = fast(settings)
    key, cases = sid.encode(), bad_jobs(sid)
    sms, email = FakeSender(SMS), FakeSender(EMAIL)
    # sender: sms + email; recipient: email
    valid = jobs_for(Status.DELIVERED, shipment_id=sid)
    async with running_notifier(settings, [sms, email]):
        await produce(
            settings,
            settings.notifications_topic,
            [(None if i == 0 else key, value) for i, (_, value, _) in enumerate(cases)],
        )
        await eventually(lambda: notifier_idle(settings, redis))
        letters = await read_all(settings, settings.notifications_dead_letter_topic)
        await produce(settings, settings.notifications_topic, [(key, raw) for raw in valid])

        async def all_sent() -> bool:
            return len(sms.sent) + len(email.sent) == len(valid)

        await eventually(all_sent)
        await eventually(lambda: notifier_idle(settings, redis))  # anything else, if it were
    check_letters(letters, cases)
    assert sorted(j.SerializeToString() for j in sms.sent + email.sent) == sorted(valid)
    # None of the unreadable records left a notice state behind.
    states = await NoticeBook(redis, settings.notifications_topic).of_shipment(sid)
    assert sorted(states) == sorted(
        npb.NotificationJob.FromString(raw).notification_id for raw in valid
    )


async def test_another_message_that_parses_as_a_job_is_dead_lettered(
    settings: Settings, redis: Redis, sid: str
) -> None:
    """A ShipmentEvent without timestamps reads as a NotificationJob whose notification_id
    is the event id and whose shipment_id is the shipment's, with no channel."""
    settings = fast(settings)
    wrong = pb.ShipmentEvent(event_id=str(uuid.uuid4()), shipment_id=sid)
    wrong.status_changed.status = pb.STATUS_DELIVERED
    assert _parses_as_a_job(wrong.SerializeToString())
    valid = jobs_for(Status.CONFIRMED, shipment_id=sid)  # the sender: sms + email
    sms, email = FakeSender(SMS), FakeSender(EMAIL)
    async with running_notifier(settings, [sms, email]):
        await produce(
            settings,
            settings.notifications_topic,
            [(sid.encode(), wrong.SerializeToString()), *((sid.encode(), raw) for raw in valid)],
        )

        async def all_sent() -> bool:
            return len(sms.sent) + len(email.sent) == len(valid)

        await eventually(all_sent)
    states = await NoticeBook(redis, settings.notifications_topic).of_shipment(sid)
    assert wrong.event_id not in states, states[wrong.event_id]


async def test_redrive_leaves_unreadable_dead_letters_alone(
    settings: Settings, redis: Redis
) -> None:
    await produce(
        settings,
        settings.notifications_dead_letter_topic,
        [(None, b""), (b"k", b"\xff\x00junk")],  # what the notifier dead-letters as unreadable
    )
    done = await redrive(settings, idle_s=1.0)
    states = await NoticeBook(redis, settings.notifications_topic).of_shipment("")
    assert (done.jobs, done.unreadable, states) == (0, 2, {})
