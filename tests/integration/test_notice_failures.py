"""Every failure of a notice has an end: whatever an attempt raises, the notice is tried
again only until SHIPNOTIFY_RETRY_MAX_AGE_S; one that can never be made is given up at once.
Both end in the dead-letter topic with the reason, and are counted."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from shipnotify.config import Settings
from shipnotify.devstack.mail_sandbox import MailSandbox
from shipnotify.model.status import Status
from shipnotify.notifier.outcomes import Outcome
from shipnotify.notifier.senders import SmtpEmail
from shipnotify.store.notices import NoticeBook
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb

from .conftest import eventually, notifier_idle, read_topic
from .test_notifier import FakeSender, fast, jobs_for, produce, running_notifier

SMS, EMAIL = pb.CHANNEL_SMS, pb.CHANNEL_EMAIL


class RaisingSender(FakeSender):
    """A provider library that raises what no rule foresaw, every time."""

    async def send(self, job: npb.NotificationJob) -> Outcome:
        self.tries += 1
        raise RuntimeError("a library's surprise")

    async def find(self, job: npb.NotificationJob, since_ms: int) -> Outcome | None:
        self.tries += 1  # it may have the message: each try after the first asks first
        raise RuntimeError("a library's surprise")


class NonsenseSender(FakeSender):
    """A sender with a bug: it answers something that is no outcome."""

    async def send(self, job: npb.NotificationJob) -> Outcome:
        self.tries += 1
        return None  # type: ignore[return-value]


def short_lived(settings: Settings) -> Settings:
    return fast(settings).with_(retry_first_s=0.1, retry_max_delay_s=0.3, retry_max_age_s=5)


def dead_letters(settings: Settings, reason: str) -> float:
    labels = {"topic": settings.notifications_dead_letter_topic, "reason": reason}
    return REGISTRY.get_sample_value("shipnotify_dead_letters_total", labels) or 0.0


async def _dead(book: NoticeBook, sid: str) -> bool:
    return any(s["s"] == "dead" for s in (await book.of_shipment(sid)).values())


@pytest.mark.parametrize("broken", [RaisingSender, NonsenseSender])
async def test_an_attempt_that_raises_is_retried_until_the_age_limit_then_dead_lettered(
    settings: Settings, redis: Redis, broken: type[FakeSender]
) -> None:
    settings = short_lived(settings)
    sms, email = broken(SMS), FakeSender(EMAIL)
    book = NoticeBook(redis, settings.notifications_topic)
    before = dead_letters(settings, "gave_up")
    async with running_notifier(settings, [sms, email]):
        # made now: their age ends the retries, and the notifier may take seconds to join
        jobs = jobs_for(Status.CONFIRMED)  # the sender: an SMS and an email
        sid = npb.NotificationJob.FromString(jobs[0]).shipment_id
        await produce(settings, jobs)
        [letter] = await read_topic(settings, settings.notifications_dead_letter_topic, 1, 20)
        await eventually(lambda: _dead(book, sid))
        await eventually(lambda: notifier_idle(settings, redis))  # given up: nothing due
        tries = sms.tries
    assert sms.tries == tries  # no more tries, to the notifier's stop
    assert tries >= 2  # retried in the meantime
    reason = dict(letter.headers)["reason"].decode()
    assert "unexpected" in reason
    assert ("RuntimeError" if broken is RaisingSender else "AttributeError") in reason
    assert npb.NotificationJob.FromString(letter.value).channel == SMS
    assert len(email.sent) == 1  # the other channel went on
    assert dead_letters(settings, "gave_up") == before + 1


async def test_a_notice_that_cannot_be_built_is_dead_lettered_at_once(
    settings: Settings, redis: Redis, mail: MailSandbox
) -> None:
    settings = fast(settings).with_(smtp_host=mail.host, smtp_port=mail.port)
    good, hostile = (npb.NotificationJob.FromString(raw) for raw in jobs_for(Status.DELIVERED)[1:])
    hostile.address = "b@example.com\r\nBcc: attacker@evil.example"  # as no registration allows
    book = NoticeBook(redis, settings.notifications_topic)
    before = dead_letters(settings, "unbuildable")
    async with running_notifier(settings, [FakeSender(SMS), SmtpEmail(settings)]):
        await produce(settings, [good.SerializeToString(), hostile.SerializeToString()])
        [letter] = await read_topic(settings, settings.notifications_dead_letter_topic, 1, 20)
        await eventually(lambda: _dead(book, hostile.shipment_id))
    assert letter.value == hostile.SerializeToString()
    assert dict(letter.headers)["reason"].decode().startswith("cannot be built: ValueError")
    assert [m.rcpt_tos for m in mail.messages] == [(good.address,)]
    states = await book.of_shipment(hostile.shipment_id)
    assert states[hostile.notification_id]["n"] == 1  # one attempt: never retried
    assert dead_letters(settings, "unbuildable") == before + 1


async def test_a_job_no_notice_can_be_made_of_is_dead_lettered_with_why(
    settings: Settings, redis: Redis
) -> None:
    settings = fast(settings)
    job = npb.NotificationJob.FromString(jobs_for(Status.CONFIRMED)[0])
    job.status = 99  # type: ignore[assignment]  # a status this build does not know
    sms, email = FakeSender(SMS), FakeSender(EMAIL)
    before = dead_letters(settings, "malformed")
    async with running_notifier(settings, [sms, email]):
        await produce(settings, [job.SerializeToString()])
        [letter] = await read_topic(settings, settings.notifications_dead_letter_topic, 1, 20)
    assert dict(letter.headers)["reason"] == b"job: unknown status number 99"
    assert sms.tries == 0
    assert await NoticeBook(redis, settings.notifications_topic).of_shipment(job.shipment_id) == {}
    assert dead_letters(settings, "malformed") == before + 1
