"""The survey loop's emails and what each job kind says, as the senders build them from a
job (no provider reached): the survey email's link per score, which leads back to its
survey; the apology; the supervisor's alert with the answer, whom to call, by when, and
the shipment's timeline in the catalogs' words."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import Message

import pytest

from shipnotify.config import Settings
from shipnotify.i18n import text
from shipnotify.i18n.labels import LANGUAGES, STATUS_LABELS
from shipnotify.i18n.questions import QUESTION
from shipnotify.model.status import Status
from shipnotify.model.survey import RANGES, read_token
from shipnotify.notifier import loop_notices
from shipnotify.notifier.senders import SmtpEmail, TwilioSms
from shipnotify.notifier.survey_texts import follow_up_sms, survey_sms
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.v1 import survey_pb2 as spb

SECRET = "survey-link-secret"
SETTINGS = Settings(
    public_url="https://trk.carrier.example",
    webhook_url="https://hooks.carrier.example",
    opt_out_secret=SECRET,
    mail_from="Carrier <notices@carrier.example>",
    twilio_account_sid="AC" + "0" * 32,
    twilio_auth_token="token",
    twilio_from="+15005550006",
)
TRACKING_ID = "k7m2q4xr5tn3wb6yd2hf"
LINK = re.compile(r"(https?://[^\s\"<>]+)/s/([A-Za-z0-9_.-]+)\?score=(\d+)")


def job(
    kind: npb.NoticeKind,
    channel: pb.Channel = pb.CHANNEL_EMAIL,
    *,
    locale: str = "en",
    scale: int = spb.SCALE_CSAT,
) -> npb.NotificationJob:
    notice = npb.NotificationJob(
        notification_id=str(uuid.uuid4()),
        shipment_id="s-42",
        tracking_id=TRACKING_ID,
        party=npb.PARTY_ROLE_RECIPIENT,
        channel=channel,
        address="ion@example.com" if channel == pb.CHANNEL_EMAIL else "+37369123456",
        name="Ion <Rusu>",
        locale=locale,
        time_zone="Europe/Chisinau",
        status=pb.STATUS_DELIVERED,
        kind=kind,
        survey_id=str(uuid.uuid4()),
        scale=scale,  # type: ignore[arg-type]
    )
    notice.planned_at.GetCurrentTime()
    return notice


def parts(message: Message) -> tuple[str, str]:
    plain, html = (p.get_payload(decode=True) for p in message.get_payload())  # type: ignore[union-attr]
    assert isinstance(plain, bytes)
    assert isinstance(html, bytes)
    return plain.decode(), html.decode()


def subject(message: Message) -> str:
    return str(make_header(decode_header(message["Subject"])))


@pytest.mark.parametrize("scale", sorted(QUESTION))
@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_survey_email_has_a_link_per_score_back_to_its_survey(
    lang: str, scale: spb.Scale
) -> None:
    survey = job(npb.NOTICE_KIND_SURVEY, locale=lang, scale=scale)
    plain, html = parts(SmtpEmail(SETTINGS).message(survey))
    low, high = RANGES[scale]
    for part in (plain, html):
        links = LINK.findall(part)
        assert [int(score) for _, _, score in links] == list(range(low, high + 1))
        assert {base for base, _, _ in links} == {"https://hooks.carrier.example"}  # hooks
        assert {read_token(SECRET, token) for _, token, _ in links} == {("s-42", survey.survey_id)}
        assert read_token("another secret", links[0][1]) is None
    _, low_means, high_means = QUESTION[scale]
    for score, key in ((low, low_means), (high, high_means)):  # what the ends mean
        label = text(lang, key)
        assert f"\n{score} ({label}): " in plain
        assert f">{label}</div>" in html
    assert f"\n{low + 1}: " in plain  # the middle speaks for itself


def test_a_survey_emails_links_go_to_the_public_url_when_hooks_has_none_of_its_own() -> None:
    survey = job(npb.NOTICE_KIND_SURVEY)
    links = loop_notices.survey_links(survey, SETTINGS.with_(webhook_url=""))
    assert list(links) == [1, 2, 3, 4, 5]
    assert all(link.startswith("https://trk.carrier.example/s/") for link in links.values())


def test_a_survey_email_in_english_asks_and_escapes_the_name() -> None:
    message = SmtpEmail(SETTINGS).message(job(npb.NOTICE_KIND_SURVEY))
    plain, html = parts(message)
    assert subject(message) == "One quick question about your delivery"
    assert message["To"] == '"Ion <Rusu>" <ion@example.com>'
    assert "Hello Ion <Rusu>," in plain
    assert "Hello Ion &lt;Rusu&gt;," in html
    assert "How satisfied are you with this delivery?" in plain  # the page's question
    assert "1 (very dissatisfied): https://hooks.carrier.example/s/" in plain
    assert "confirm your score" in plain  # the link chooses, the page records


async def test_a_survey_without_its_survey_or_scale_cannot_be_built() -> None:
    nameless = job(npb.NOTICE_KIND_SURVEY)
    nameless.survey_id = ""
    with pytest.raises(ValueError, match="names no survey"):
        SmtpEmail(SETTINGS).message(nameless)
    scaleless = job(npb.NOTICE_KIND_SURVEY, scale=spb.SCALE_UNSPECIFIED)
    with pytest.raises(ValueError, match="no survey scale"):
        SmtpEmail(SETTINGS).message(scaleless)
    sms = TwilioSms(SETTINGS)
    scaleless.channel = pb.CHANNEL_SMS
    try:
        with pytest.raises(ValueError, match="no survey scale"):
            sms.body(scaleless)
    finally:
        await sms.close()


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_each_sms_of_the_loop_says_its_kinds_words(lang: str) -> None:
    sender = TwilioSms(SETTINGS)
    try:
        texts = {
            kind: sender.body(job(kind, pb.CHANNEL_SMS, locale=lang, scale=spb.SCALE_NPS))
            for kind in (npb.NOTICE_KIND_SURVEY, npb.NOTICE_KIND_FOLLOW_UP, npb.NOTICE_KIND_APOLOGY)
        }
        assert texts[npb.NOTICE_KIND_SURVEY] == survey_sms(lang, spb.SCALE_NPS)
        assert texts[npb.NOTICE_KIND_FOLLOW_UP] == follow_up_sms(lang)
        assert len(set(texts.values())) == 3
        with pytest.raises(ValueError, match="no SMS"):
            sender.body(job(npb.NOTICE_KIND_CASE_ALERT, pb.CHANNEL_SMS))
    finally:
        await sender.close()


def test_the_apology_by_email() -> None:
    message = SmtpEmail(SETTINGS).message(job(npb.NOTICE_KIND_APOLOGY, locale="ro-MD"))
    plain, html = parts(message)
    assert subject(message) == "Ne pare rău"
    assert "Cineva din echipa noastră vă va suna astăzi" in plain
    assert f"https://trk.carrier.example/t/{TRACKING_ID}" in html
    with pytest.raises(ValueError, match="no email"):
        SmtpEmail(SETTINGS).message(job(npb.NOTICE_KIND_FOLLOW_UP))


def alert_job(locale: str = "en") -> npb.NotificationJob:
    alert = job(npb.NOTICE_KIND_CASE_ALERT, locale=locale)
    alert.address, alert.name = "boss@carrier.example", "North depot"
    alert.party = npb.PARTY_ROLE_UNSPECIFIED
    case = alert.case_alert
    case.case_id, case.depot, case.courier_id = "case-7", "north", "c-17"
    case.due_at.FromDatetime(datetime(2026, 3, 10, 16, 0, tzinfo=UTC))  # 18:00 in Chisinau
    case.scale, case.score = spb.SCALE_CSAT, 2
    case.reason, case.comment = spb.REASON_DAMAGED, "The box was <crushed> & wet"
    case.source, case.party = spb.ANSWER_SOURCE_SMS, npb.PARTY_ROLE_RECIPIENT
    case.customer_name, case.customer_phone = "Ion Rusu", "+37369123456"
    for status, at, depot, failure in (
        (pb.STATUS_PICKED_UP, datetime(2026, 3, 9, 7, 5, tzinfo=UTC), "south", 0),
        (pb.STATUS_DELIVERY_ATTEMPTED, datetime(2026, 3, 10, 9, 30, tzinfo=UTC), "north", 1),
        (pb.STATUS_DELIVERED, datetime(2026, 3, 10, 13, 45, tzinfo=UTC), "north", 0),
    ):
        entry = case.timeline.add(status=status, depot=depot, failure=failure)
        entry.occurred_at.FromDatetime(at)
    return alert


def test_a_case_alert_tells_the_supervisor_whom_to_call_by_when_and_what_happened() -> None:
    message = SmtpEmail(SETTINGS).message(alert_job())
    plain, html = parts(message)
    assert subject(message) == "Call back by Mar 10, 2026, 6:00\u202fPM: a customer scored 2 of 5"
    for line in (
        "Case: case-7",
        "Call back by: Mar 10, 2026, 6:00\u202fPM (Europe/Chisinau)",  # the depot's time
        "Depot: north",
        "Courier: c-17",
        "Answer: 2 on a scale of 1 to 5 (satisfaction, CSAT)",
        "What went wrong: It arrived damaged",  # the page's words for it
        "In their words: The box was <crushed> & wet",
        "Answered by: SMS reply",
        "Who answered: Recipient",
        "Customer: Ion Rusu",
        "Phone: +37369123456",
        "Email: not given",
        "- Mar 9, 2026, 9:05\u202fAM  Picked up (south)",
        "- Mar 10, 2026, 11:30\u202fAM  Delivery attempted"
        " (north · Nobody was there to receive it)",
        "- Mar 10, 2026, 3:45\u202fPM  Delivered (north)",
        f"The shipment's tracking page: https://trk.carrier.example/t/{TRACKING_ID}",
    ):
        assert line in plain, line
    assert "The box was &lt;crushed&gt; &amp; wet" in html  # the customer's words, escaped
    assert "<crushed>" not in html
    assert "+37369123456" in html


def test_a_case_alert_names_the_statuses_as_the_status_emails_do() -> None:
    plain, html = parts(SmtpEmail(SETTINGS).message(alert_job("ru")))
    for status in (Status.PICKED_UP, Status.DELIVERY_ATTEMPTED, Status.DELIVERED):
        label = STATUS_LABELS["ru"][status]
        assert label in plain
        assert f"<strong>{label}</strong>" in html
    assert "10 мар. 2026\u202fг., 18:00 (Europe/Chisinau)" in plain  # noqa: RUF001
    assert "Посылка повреждена" in plain


def test_a_case_alert_answered_on_the_tracking_page_says_what_it_does_not_know() -> None:
    alert = alert_job()
    case = alert.case_alert
    case.source, case.party = spb.ANSWER_SOURCE_PAGE, npb.PARTY_ROLE_UNSPECIFIED
    case.reason, case.comment = spb.REASON_UNSPECIFIED, ""
    case.customer_name = case.customer_phone = ""
    plain, _ = parts(SmtpEmail(SETTINGS).message(alert))
    for line in (
        "Answered by: Tracking page",
        "Who answered: not given",
        "What went wrong: not given",
        "Customer: not given",
        "Phone: not given",
    ):
        assert line in plain, line
