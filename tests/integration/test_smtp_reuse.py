"""The email sender against a real SMTP server (the mail sandbox): a few connections carry
many emails, one the relay dropped is replaced without sending anything twice, and failures
mean what they meant with a connection per email."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from shipnotify.config import Settings
from shipnotify.devstack.mail_sandbox import MailSandbox
from shipnotify.notifier.outcomes import Failed, Sent
from shipnotify.notifier.senders import SmtpEmail
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb

pytestmark = pytest.mark.redis_agnostic  # its outcome does not depend on Redis: run once

IN_FLIGHT = 4


@pytest.fixture
async def email(mail: MailSandbox) -> AsyncIterator[SmtpEmail]:
    sender = SmtpEmail(
        Settings(
            smtp_host=mail.host,
            smtp_port=mail.port,
            mail_from="Carrier <notices@carrier.example>",
            sends_in_flight=IN_FLIGHT,
            send_timeout_s=2.0,
        )
    )
    yield sender
    await sender.close()


def _job() -> npb.NotificationJob:
    return npb.NotificationJob(
        notification_id=str(uuid.uuid4()),
        shipment_id=f"reuse-{uuid.uuid4().hex[:8]}",
        tracking_id="T" * 20,
        party=npb.PARTY_ROLE_RECIPIENT,
        channel=pb.CHANNEL_EMAIL,
        address="ion@example.com",
        name="Ion",
        locale="en",
        status=pb.STATUS_OUT_FOR_DELIVERY,
    )


def _received(mail: MailSandbox) -> list[str]:
    return [str(m.message["Message-ID"]) for m in mail.messages]


async def test_concurrent_emails_share_at_most_sends_in_flight_connections(
    mail: MailSandbox, email: SmtpEmail
) -> None:
    jobs = [_job() for _ in range(100)]

    outcomes = await asyncio.gather(*(email.send(job) for job in jobs))

    assert outcomes == [Sent(email.message_id(job)) for job in jobs]
    assert 1 <= mail.connections <= IN_FLIGHT
    assert sorted(_received(mail)) == sorted(email.message_id(job) for job in jobs)


@pytest.mark.parametrize("noticed", [False, True], ids=["unnoticed", "noticed"])
async def test_a_connection_the_relay_dropped_is_replaced_and_nothing_is_sent_twice(
    mail: MailSandbox, email: SmtpEmail, noticed: bool
) -> None:
    before, after = _job(), _job()
    assert await email.send(before) == Sent(email.message_id(before))

    mail.stop()  # closes the pooled connection's session
    mail.start()
    if noticed:
        # the client sees the close while idle (else only on MAIL); nothing outside the
        # sender's pool tells when it has, so it is given a moment
        await asyncio.sleep(0.1)
    assert await email.send(after) == Sent(email.message_id(after))

    assert _received(mail) == [email.message_id(before), email.message_id(after)]
    assert mail.connections == 2


async def test_a_relay_that_stays_down_means_not_sent_not_in_doubt(
    mail: MailSandbox, email: SmtpEmail
) -> None:
    await email.send(_job())
    mail.stop()

    outcome = await email.send(_job())  # the pooled connection is stale, the fresh one refused

    assert isinstance(outcome, Failed)
    assert (outcome.permanent, outcome.code, outcome.unknown) == (False, "network", False)
    assert len(mail.messages) == 1


async def test_a_refused_recipient_fails_as_before_and_the_connection_is_kept(
    mail: MailSandbox, email: SmtpEmail
) -> None:
    mail.reject_next(1, code=550)
    assert await email.send(_job()) == Failed(
        "smtp 550: recipient refused", permanent=True, code="550"
    )
    mail.fail_for(30, code=451)
    assert await email.send(_job()) == Failed(
        "smtp 451: recipient refused", permanent=False, code="451"
    )
    mail.clear_faults()
    job = _job()
    assert await email.send(job) == Sent(email.message_id(job))

    assert _received(mail) == [email.message_id(job)]
    assert mail.connections == 1  # reset after each refusal, not dropped


async def test_an_idle_connection_is_closed(mail: MailSandbox) -> None:
    email = SmtpEmail(
        Settings(
            smtp_host=mail.host,
            smtp_port=mail.port,
            mail_from="Carrier <notices@carrier.example>",
            send_timeout_s=2.0,
        ),
        idle_s=0.1,
    )
    await email.send(_job())
    await asyncio.sleep(0.3)  # the idle time passing is what is tested

    await email.send(_job())

    await email.close()
    assert len(mail.messages) == 2
    assert mail.connections == 2
