"""Sending a failed notice again, without I/O: which notices may be, the derived id, the
request the console appends and the job the tracker plans from it (the same notice, a new
id, a fresh age; cancelled when the contacts were erased), and the notices page's query."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from shipnotify.console.notices import MAX_PAGE, account_of, search_of
from shipnotify.model import sent_again
from shipnotify.model.codec import decode_event, decode_job, entry_for, entry_head
from shipnotify.model.notices import plan
from shipnotify.model.status import Status
from shipnotify.notifier import decision
from shipnotify.notifier.outcomes import Failed
from shipnotify.notifier.worker import Notifier
from shipnotify.store.notices import RANKS, SmsGate
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb

from .test_notifier_with_fakes import (
    SETTINGS,
    FakeBook,
    FakeProducer,
    FakeSender,
    FakeThrottle,
    notice,
)

SID = "shp-again-1"
AT = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


def registered() -> pb.ShipmentRegistered:
    made = pb.ShipmentRegistered(tracking_id="TRK" + "7" * 17)
    made.sender.contacts.add(
        name="Shop",
        email="desk@shop.example",
        phone="+40721234567",
        channels=[pb.CHANNEL_SMS, pb.CHANNEL_EMAIL],
        locale="ro",
    )
    made.recipient.contacts.add(
        name="Ion", phone="+37369123456", channels=[pb.CHANNEL_SMS], time_zone="Europe/Chisinau"
    )
    return made


def picked_up() -> pb.ShipmentEvent:
    event = pb.ShipmentEvent(event_id=str(uuid.uuid4()), shipment_id=SID)
    event.occurred_at.FromMilliseconds(1_764_650_000_000)
    event.recorded_at.FromMilliseconds(1_764_650_004_000)
    event.status_changed.status = pb.STATUS_PICKED_UP
    return event


def stored_entry(event: pb.ShipmentEvent) -> str:
    return entry_head(entry_for(event)) + "|1"  # advanced, as apply_events.lua stores it


def as_listed(job: npb.NotificationJob, state: str, **more: Any) -> dict[str, Any]:
    """A notice as NoticeBook.of_shipment spells it."""
    channel = {pb.CHANNEL_SMS: "sms", pb.CHANNEL_EMAIL: "email", pb.CHANNEL_PUSH: "push"}
    party = {npb.PARTY_ROLE_SENDER: "sender", npb.PARTY_ROLE_RECIPIENT: "recipient"}
    return {
        "s": state,
        "c": channel[job.channel],
        "p": party[job.party],
        "st": "picked_up",
        "ev": job.event_id,
        **more,
    }


@pytest.mark.parametrize("state", sorted(RANKS))
def test_a_status_notice_may_be_sent_again_only_after_a_failure(state: str) -> None:
    [first, *_] = plan(picked_up(), registered())
    expected = state in ("failed", "undelivered", "rejected", "dead")
    assert sent_again.may_send_again(as_listed(first, state)) is expected


def test_the_survey_loop_and_webhooks_are_never_sent_again_from_here() -> None:
    [first, *_] = plan(picked_up(), registered())
    for kind in ("survey", "follow_up", "apology", "case_alert", "endpoint_disabled"):
        assert not sent_again.may_send_again(as_listed(first, "dead", kind=kind))
    assert not sent_again.may_send_again(as_listed(first, "dead") | {"c": "webhook"})
    assert not sent_again.may_send_again(as_listed(first, "dead") | {"ev": ""})


def test_the_id_sent_again_derives_from_the_failed_ones_and_the_requests() -> None:
    first, request = str(uuid.uuid4()), str(uuid.uuid4())
    again = sent_again.sent_again_id(first, request)
    assert again == sent_again.sent_again_id(first, request)  # a redelivery: the same
    assert again != first
    assert again != sent_again.sent_again_id(first, str(uuid.uuid4()))  # another request
    assert uuid.UUID(again).version == 5


def test_the_request_names_the_notice_and_passes_the_events_checks() -> None:
    status = picked_up()
    failed = plan(status, registered())[2]  # the recipient's SMS
    event = sent_again.request(SID, failed.notification_id, as_listed(failed, "dead"), "op", AT)
    assert decode_event(event.SerializeToString()) == event
    again = event.notice_sent_again
    assert again.notification_id == failed.notification_id
    assert again.status_event_id == status.event_id
    assert (again.channel, again.party) == (pb.CHANNEL_SMS, npb.PARTY_ROLE_RECIPIENT)
    assert event.recorded_at.ToDatetime(tzinfo=UTC) == AT
    # made twice (a double click, two operators at once): the same request, one copy
    later = datetime(2026, 12, 2, 9, 31, tzinfo=UTC)
    twice = sent_again.request(SID, failed.notification_id, as_listed(failed, "dead"), "x", later)
    assert twice.event_id == event.event_id == sent_again.request_id(failed.notification_id)
    assert sent_again.request_id(status.event_id) != event.event_id


@pytest.mark.parametrize("which", [0, 1, 2])
def test_the_job_is_the_failed_notice_again_under_the_derived_id_with_a_fresh_age(
    which: int,
) -> None:
    status, parties = picked_up(), registered()
    failed = plan(status, parties)[which]
    event = sent_again.request(SID, failed.notification_id, as_listed(failed, "failed"), "op", AT)
    job = sent_again.job(
        event,
        parties=parties.SerializeToString(),
        push=(),
        entry=stored_entry(status),
        erased_ms=0,
    )
    assert job is not None
    assert job.notification_id == sent_again.sent_again_id(failed.notification_id, event.event_id)
    assert job.sent_again_of == failed.notification_id
    assert job.planned_at == event.recorded_at  # its retries' age starts at the request
    same = ("address", "channel", "party", "locale", "time_zone", "status", "occurred_at")
    assert [getattr(job, f) for f in same] == [getattr(failed, f) for f in same]
    assert job.event_id == failed.event_id
    assert job.tracking_id == failed.tracking_id
    assert decode_job(job.SerializeToString()) == job
    # the request delivered again plans byte for byte the same job: the notifier sends it once
    twice = sent_again.job(
        event,
        parties=parties.SerializeToString(),
        push=(),
        entry=stored_entry(status),
        erased_ms=0,
    )
    assert twice is not None
    assert twice.SerializeToString() == job.SerializeToString()


def test_a_contact_erased_since_makes_a_job_the_notifier_cancels() -> None:
    status, parties = picked_up(), registered()
    failed = plan(status, parties)[2]
    event = sent_again.request(SID, failed.notification_id, as_listed(failed, "dead"), "op", AT)
    erased_ms = int(AT.timestamp() * 1000) - 60_000
    job = sent_again.job(
        event, parties=b"", push=(), entry=stored_entry(status), erased_ms=erased_ms
    )
    assert job is not None
    assert job.address == sent_again.ERASED  # nobody's
    assert decode_job(job.SerializeToString()) == job
    planned = decision.planned_ms(job)
    gate = SmsGate(opted_out=False, later_deferred=False, erased=0 < erased_ms >= planned)
    taken_up = decision.before_claim(
        job,
        has_sender=True,
        gate=gate,
        paused_s=0.0,
        now_ms=erased_ms + 120_000,
        rules=decision.Rules(None, 1.0, 10.0, 60.0),
    )
    assert taken_up == decision.Final("cancelled", tally="skipped")


def test_an_erasure_after_the_request_cancels_the_planned_job_too() -> None:
    status, parties = picked_up(), registered()
    failed = plan(status, parties)[2]
    event = sent_again.request(SID, failed.notification_id, as_listed(failed, "dead"), "op", AT)
    job = sent_again.job(
        event, parties=parties.SerializeToString(), push=(), entry=stored_entry(status), erased_ms=0
    )
    assert job is not None
    later = int(AT.timestamp() * 1000) + 1
    assert 0 < later >= decision.planned_ms(job)  # as the book's gate and claim compare them


def test_a_notice_sent_again_that_failed_again_may_be_sent_again_to_its_party() -> None:
    status, parties = picked_up(), registered()
    failed = plan(status, parties)[2]  # the recipient's SMS

    def again_of(notice: npb.NotificationJob, registration: pb.ShipmentRegistered) -> Any:
        asked = sent_again.request(SID, notice.notification_id, as_listed(notice, "dead"), "o", AT)
        return sent_again.job(
            asked,
            parties=registration.SerializeToString(),
            push=(),
            entry=stored_entry(status),
            erased_ms=0,
        )

    second = again_of(failed, parties)
    third = again_of(second, parties)  # its id derived: found by its party and channel
    assert third is not None
    assert third.address == failed.address
    assert third.sent_again_of == second.notification_id
    assert third.notification_id not in (failed.notification_id, second.notification_id)
    # the recipient's number changed since: the one SMS contact it has now
    moved = registered()
    moved.recipient.contacts[0].phone = "+37369000000"
    assert again_of(second, moved).address == "+37369000000"
    # two SMS contacts now: which one is unknown, so none
    both = registered()
    both.recipient.contacts.add(name="Ana", phone="+37369111111", channels=[pb.CHANNEL_SMS])
    assert again_of(second, both) is None


def test_nothing_to_plan_without_a_contact_nor_an_erasure_or_without_the_status() -> None:
    status, parties = picked_up(), registered()
    failed = plan(status, parties)[2]
    event = sent_again.request(SID, failed.notification_id, as_listed(failed, "dead"), "op", AT)
    nobody = registered()
    del nobody.recipient.contacts[:]  # the recipient has no contact now
    now = nobody.SerializeToString()
    assert (
        sent_again.job(event, parties=now, push=(), entry=stored_entry(status), erased_ms=0) is None
    )
    whole = parties.SerializeToString()
    assert sent_again.job(event, parties=whole, push=(), entry=None, erased_ms=0) is None


def test_the_pages_query() -> None:
    assert search_of({}) == ("", "", 1, {})
    assert search_of({"q": " TRK123 ", "page": "3"}) == ("TRK123", "", 3, {})
    assert search_of({"shipment": "s-1"})[1] == "s-1"
    assert search_of({"q": "two words"})[3] == {"q": "console.notices.problem.q"}
    assert search_of({"q": "x" * 129})[3] == {"q": "console.notices.problem.q"}
    assert search_of({"shipment": "a\x00b"})[1:] == (
        "",
        1,
        {"shipment": "console.notices.problem.q"},
    )
    for page in ("0", "-1", "x", str(MAX_PAGE + 1)):
        assert search_of({"page": page})[2:] == (1, {"page": "console.notices.problem.page"})
    assert Status.PICKED_UP.proto == pb.STATUS_PICKED_UP


class FakeFailures:
    """The failed notices' list in memory."""

    def __init__(self) -> None:
        self.listed: set[tuple[str, str]] = set()

    async def add(self, shipment_id: str, nid: str, at_ms: int | None = None) -> None:
        self.listed.add((shipment_id, nid))

    async def remove(self, shipment_id: str, nid: str) -> None:
        self.listed.discard((shipment_id, nid))


async def test_the_notifier_lists_a_failure_and_a_copy_sent_takes_it_off() -> None:
    refused = Failed("unreachable", permanent=True, code="21211")
    book, sms = FakeBook(), FakeSender(pb.CHANNEL_SMS, [refused])
    failures = FakeFailures()
    worker = Notifier(
        SETTINGS,
        book=book,
        senders=[sms],
        producer=FakeProducer(),
        throttle=FakeThrottle(),
        failures=failures,
    )
    job, raw = notice(pb.CHANNEL_SMS)
    await worker.handle(job, raw)
    assert book.state(job.notification_id) == "rejected"
    assert failures.listed == {(job.shipment_id, job.notification_id)}
    again = npb.NotificationJob()
    again.CopyFrom(job)
    again.notification_id = sent_again.sent_again_id(job.notification_id, str(uuid.uuid4()))
    again.sent_again_of = job.notification_id
    await worker.handle(again, again.SerializeToString())
    assert book.state(again.notification_id) == "sent"
    assert failures.listed == set()
    # a copy that fails too takes its failed one's place: one of them goes again, not both
    sms.answers.append(refused)
    third = npb.NotificationJob()
    third.CopyFrom(again)
    third.notification_id = sent_again.sent_again_id(again.notification_id, str(uuid.uuid4()))
    third.sent_again_of = again.notification_id
    failures.listed = {(job.shipment_id, again.notification_id)}
    await worker.handle(third, third.SerializeToString())
    assert failures.listed == {(job.shipment_id, third.notification_id)}


def test_a_copy_on_its_way_holds_a_second_one_back() -> None:
    status, parties = picked_up(), registered()
    sender_sms, sender_email, recipient_sms = plan(status, parties)
    first = recipient_sms.notification_id
    notices = {
        first: as_listed(recipient_sms, "dead"),
        sender_sms.notification_id: as_listed(sender_sms, "sending"),  # another party's
        sender_email.notification_id: as_listed(sender_email, "sent"),
    }
    assert not sent_again.copy_on_its_way(first, notices)
    copy = sent_again.sent_again_id(first, str(uuid.uuid4()))
    for state in ("sending", "retrying", "deferred", "redriven"):
        assert sent_again.copy_on_its_way(first, notices | {copy: as_listed(recipient_sms, state)})
    for state in ("sent", "delivered", "dead", "cancelled"):
        assert not sent_again.copy_on_its_way(
            first, notices | {copy: as_listed(recipient_sms, state)}
        )


def test_whose_failed_notices() -> None:
    assert account_of({}, "") == ("", {})  # the operator: every account's
    assert account_of({"account": "acct_1"}, "") == ("acct_1", {})
    assert account_of({"account": "acct_1"}, "acct_2") == ("acct_2", {})  # a member's own
    assert account_of({"account": "a b"}, "") == ("", {"account": "console.bad_account"})
