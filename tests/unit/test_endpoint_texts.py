# ruff: noqa: RUF001  # the Russian words are Cyrillic on purpose
"""The email telling an account's team that its webhook endpoint was disabled, as the email
sender builds it from a job (no relay reached): which endpoint, why and since when in the
member's language and time zone, the account's own words escaped in the HTML; and the jobs
made of a team, one per member with an email address, with the same ids on every repeat."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import Message

import pytest

from shipnotify.config import Settings
from shipnotify.model import webhooks as wh
from shipnotify.model.codec import MalformedEvent, decode_job
from shipnotify.notifier import loop_notices
from shipnotify.notifier.senders import SmtpEmail
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb

pytestmark = pytest.mark.redis_agnostic

SETTINGS = Settings(
    mail_from="Carrier <notices@carrier.example>",
)
SINCE = datetime(2026, 3, 5, 7, 30, tzinfo=UTC)  # 09:30 in Chisinau
DISABLED = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)  # 5 days and half an hour later
EVENT_ID = str(uuid.uuid4())


def an_alert() -> npb.EndpointAlert:
    alert = npb.EndpointAlert(
        account_id="acct_aaaaaaaaaaaa",
        account_name="Acme <Retail>",
        endpoint_id="ep_bbbbbbbbbbbb",
        url="https://acme.example/hooks?a=1&b=<2>",
        description="Orders & returns",
        reason="failing for 5 days in a row",
    )
    alert.failing_since.FromDatetime(SINCE)
    alert.disabled_at.FromDatetime(DISABLED)
    return alert


TEAM = [
    apb.TeamMember(name="Ana", email="ana@acme.example", locale="en", time_zone="Europe/Chisinau"),
    apb.TeamMember(name="Ivan", email="ivan@acme.example", locale="ru-MD", time_zone="UTC"),
    apb.TeamMember(name="Ion", email="ion@acme.example", locale="ro", time_zone="Europe/Chisinau"),
    apb.TeamMember(name="Night desk", phone="+37369123456", locale="en"),  # no email: no notice
]


def parts(message: Message) -> tuple[str, str]:
    plain, html = (p.get_payload(decode=True) for p in message.get_payload())  # type: ignore[union-attr]
    assert isinstance(plain, bytes)
    assert isinstance(html, bytes)
    return plain.decode(), html.decode()


def subject(message: Message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def test_one_email_per_member_with_an_address_the_same_on_every_repeat() -> None:
    jobs = wh.team_notices(EVENT_ID, an_alert(), TEAM)
    addresses = ["ana@acme.example", "ivan@acme.example", "ion@acme.example"]
    assert [j.address for j in jobs] == addresses
    assert [(j.locale, j.time_zone, j.name) for j in jobs] == [
        ("en", "Europe/Chisinau", "Ana"),
        ("ru-MD", "UTC", "Ivan"),
        ("ro", "Europe/Chisinau", "Ion"),
    ]
    for j in jobs:
        assert j.kind == npb.NOTICE_KIND_ENDPOINT_DISABLED
        assert j.channel == pb.CHANNEL_EMAIL
        assert j.shipment_id == "ep_bbbbbbbbbbbb"  # the endpoint's notices
        assert j.endpoint_alert == an_alert()
    again = wh.team_notices(EVENT_ID, an_alert(), TEAM)  # a repeat after a crash
    assert [j.notification_id for j in again] == [j.notification_id for j in jobs]
    assert len({j.notification_id for j in jobs}) == 3
    other = wh.team_notices(str(uuid.uuid4()), an_alert(), TEAM)  # another streak
    assert not {j.notification_id for j in other} & {j.notification_id for j in jobs}


def email_of(member: int) -> tuple[str, str, str]:
    job = wh.team_notices(EVENT_ID, an_alert(), TEAM)[member]
    message = SmtpEmail(SETTINGS).message(job)
    assert message["To"] == f"{job.name} <{job.address}>"
    return (subject(message), *parts(message))


def test_the_email_says_which_endpoint_why_and_since_when() -> None:
    title, plain, html = email_of(0)
    assert title == "Webhook endpoint disabled: https://acme.example/hooks?a=1&b=<2>"
    for line in (
        "Hello Ana,",
        "Account: Acme <Retail>",
        "Endpoint: ep_bbbbbbbbbbbb",
        "URL: https://acme.example/hooks?a=1&b=<2>",
        "Description: Orders & returns",
        "Why: Every delivery failed for 5 days in a row",
        "Failing since: Mar 5, 2026, 9:30\u202fAM (Europe/Chisinau)",  # the member's time
        "Disabled: Mar 10, 2026, 10:00\u202fAM (Europe/Chisinau)",
        '(PATCH the endpoint with "disabled": false)',
        "You receive this email as a member of your account's team.",
    ):
        assert line in plain, line
    # the account's words are escaped in the HTML, and laid out in the status emails' frame
    assert "https://acme.example/hooks?a=1&amp;b=&lt;2&gt;" in html
    assert "Acme &lt;Retail&gt;" in html
    assert "<2>" not in html
    assert html.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert 'role="article"' in html


def test_the_email_in_the_members_language() -> None:
    title, plain, html = email_of(1)
    assert title == "Вебхук-эндпоинт отключён: https://acme.example/hooks?a=1&b=<2>"
    assert "Причина: Все доставки не удавались 5 дней подряд" in plain
    assert "Сбои с: 5 мар. 2026\u202fг., 07:30 (UTC)" in plain
    assert '<html lang="ru">' in html
    title, plain, _ = email_of(2)
    assert title == "Endpoint de webhook dezactivat: https://acme.example/hooks?a=1&b=<2>"
    assert "Motiv: Toate livrările au eșuat 5 zile la rând" in plain


def test_the_notice_has_no_sms() -> None:
    job = wh.team_notices(EVENT_ID, an_alert(), TEAM)[0]
    job.channel, job.address = pb.CHANNEL_SMS, "+37369123456"
    with pytest.raises(ValueError, match="no SMS"):
        loop_notices.sms_text(job)


def test_the_notice_is_a_job_the_notifier_takes_and_without_its_endpoint_is_malformed() -> None:
    job = wh.team_notices(EVENT_ID, an_alert(), TEAM)[0]
    assert decode_job(job.SerializeToString()) == job  # no status: it tells of no shipment
    job.ClearField("endpoint_alert")
    with pytest.raises(MalformedEvent, match="without its endpoint"):
        decode_job(job.SerializeToString())
