"""The email as sent (SmtpEmail.raw, laid out directly) says what message() builds with the
mail library's MIME classes: the same headers in the same order, the same parts."""

from __future__ import annotations

import uuid
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message

import pytest

from shipnotify.config import Settings
from shipnotify.notifier.outcomes import Unbuildable, built
from shipnotify.notifier.senders import SmtpEmail
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.v1 import survey_pb2 as spb

SETTINGS = Settings(mail_from="Carrier Ltd <notices@carrier.example>")


def a_job(name: str, locale: str, status: int, kind: int = 0) -> npb.NotificationJob:
    job = npb.NotificationJob(
        notification_id=str(uuid.uuid4()),
        shipment_id="s-7",
        tracking_id="t" * 20,
        party=npb.PARTY_ROLE_RECIPIENT,
        channel=pb.CHANNEL_EMAIL,
        address="ion@example.com",
        name=name,
        locale=locale,
        time_zone="Europe/Chisinau",
        status=status,  # type: ignore[arg-type]
        kind=kind,  # type: ignore[arg-type]
        survey_id=str(uuid.uuid4()),
        scale=spb.SCALE_CSAT,
    )
    job.planned_at.GetCurrentTime()
    job.occurred_at.GetCurrentTime()
    return job


def said(message: Message) -> dict[str, object]:
    headers = {
        name: str(make_header(decode_header(str(value))))
        for name, value in message.items()
        if name not in ("Date", "Content-Type")
    }
    payload = [part for part in message.get_payload() if isinstance(part, Message)]
    parts = [
        (part.get_content_type(), part.get_content_charset(), part.get_payload(decode=True))
        for part in payload
    ]
    return {"order": list(message.keys()), "headers": headers, "parts": parts}


@pytest.mark.parametrize(
    "job",
    [
        a_job("Ion Rusu", "en", pb.STATUS_OUT_FOR_DELIVERY),
        a_job('Ева Иванова, "Ltd"', "ru", pb.STATUS_DELIVERED),
        a_job("Ana", "ro", pb.STATUS_DELIVERY_ATTEMPTED),
        a_job("Eve\r\nBcc: attacker@evil.example", "en", pb.STATUS_IN_TRANSIT),
        a_job("Ion", "ru", pb.STATUS_DELIVERED, npb.NOTICE_KIND_SURVEY),
    ],
)
def test_the_bytes_sent_say_what_the_message_says(job: npb.NotificationJob) -> None:
    email = SmtpEmail(SETTINGS)
    sent = message_from_bytes(email.raw(job))
    built_ = email.message(job)
    assert said(sent) == said(built_)
    assert sent.get_content_type() == "multipart/alternative"
    assert not sent.defects
    payload = [part for part in sent.get_payload() if isinstance(part, Message)]
    assert len(payload) == 2
    assert all(not part.defects for part in payload)


def test_a_subject_never_spans_lines() -> None:
    email = SmtpEmail(SETTINGS)
    email.words = lambda job: type(email.words(job))("a\r\nBcc: x@evil.example", "t", "h")  # type: ignore[method-assign]
    with pytest.raises(Unbuildable):
        built(email.raw, a_job("Ion", "en", pb.STATUS_IN_TRANSIT))
