# ruff: noqa: RUF001  # Cyrillic names are meant
"""No contact name can add a header or a recipient to an email: each hostile name goes
through the email sender to the real SMTP server, and the message that arrives is checked.
(Registration refuses such names too; a job may still carry one from before, or from
another producer.)"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from shipnotify.config import Settings
from shipnotify.devstack.mail_sandbox import MailSandbox
from shipnotify.model.status import Status
from shipnotify.notifier import texts
from shipnotify.notifier.outcomes import Failed, Sent, Unbuildable
from shipnotify.notifier.senders import SmtpEmail
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb

pytestmark = pytest.mark.redis_agnostic  # its outcome does not depend on Redis: run once

CONTACT = "ion@example.com"
HOSTILE = [
    "Eve\r\n\r\nAn injected body",
    "Eve\r\nSubject: X",
    "Eve\r\nBcc: attacker@evil.example",
    "Eve\nCc: attacker@evil.example",
    "Eve\rTo: attacker@evil.example",
    "Eve <attacker@evil.example>",
    '"Eve", attacker@evil.example',
    "attacker@evil.example",
    "Eve\u2028Bcc: attacker@evil.example",
    "Ева\r\nBcc: attacker@evil.example",
    "Eve\x00\x1b[31m\x7f",
    "=?utf-8?q?Eve=0D=0ABcc=3A_attacker=40evil=2Eexample?=",
]
HEADERS = ["Content-Type", "MIME-Version", "From", "To", "Subject", "Date", "Message-ID"]
HEADERS += ["List-Unsubscribe"]


@pytest.fixture
async def email(mail: MailSandbox) -> AsyncIterator[SmtpEmail]:
    sender = SmtpEmail(
        Settings(smtp_host=mail.host, smtp_port=mail.port, mail_from="Carrier <n@carrier.example>")
    )
    yield sender
    await sender.close()


def _job(name: str, address: str = CONTACT) -> npb.NotificationJob:
    return npb.NotificationJob(
        notification_id=str(uuid.uuid4()),
        shipment_id="hdr-1",
        tracking_id="t" * 20,
        party=npb.PARTY_ROLE_RECIPIENT,
        channel=pb.CHANNEL_EMAIL,
        address=address,
        name=name,
        locale="en",
        status=pb.STATUS_OUT_FOR_DELIVERY,
    )


@pytest.mark.parametrize("name", HOSTILE)
async def test_a_hostile_name_adds_no_header_and_no_recipient(
    mail: MailSandbox, email: SmtpEmail, name: str
) -> None:
    job = _job(name)

    assert await email.send(job) == Sent(email.message_id(job))

    [got] = mail.messages
    assert got.rcpt_tos == (CONTACT,)  # the envelope: the contact, no one else
    message = got.message
    assert list(message.keys()) == HEADERS  # each once, nothing added
    [to] = message["To"].addresses
    assert to.addr_spec == CONTACT
    assert not {"\r", "\n"} & set(to.display_name)
    expected = texts.email(
        "en",
        "recipient",
        Status.OUT_FOR_DELIVERY,
        tracking_url="http://127.0.0.1:8080/t/" + "t" * 20,
    )
    assert message["Subject"] == expected.subject
    assert (got.text or "").strip() == expected.text.strip()


async def test_a_plain_name_is_the_display_name(mail: MailSandbox, email: SmtpEmail) -> None:
    plain = ["Ion Rusu", "Ион Русу", "O'Brien, Mary", "می‌خواهم"]  # Persian: a ZWNJ
    for name in plain:
        await email.send(_job(name))
    names = [m.message["To"].addresses[0].display_name for m in mail.messages]
    assert names == plain


@pytest.mark.parametrize(
    "address", ["ion@example.com\r\nBcc: attacker@evil.example", "ion@example.com, x@evil.example"]
)
async def test_an_address_that_is_not_one_mailbox_cannot_be_built(
    mail: MailSandbox, email: SmtpEmail, address: str
) -> None:
    with pytest.raises(Unbuildable, match="cannot be built"):
        await email.send(_job("Ion", address))
    assert mail.messages == []


def test_unbuildable_is_no_provider_answer() -> None:
    # the notifier, not the sender, turns it into a permanent failure and a dead letter
    assert not issubclass(Unbuildable, Failed)
