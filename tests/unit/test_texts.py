"""The notices' words as the catalogs hold them: every SMS fits one segment whatever it says,
a language may say the generic text where a party has one of its own, a push says its
email's words in a small payload, and the replies to inbound SMS are looked up too; the
survey loop's SMS: the question in one segment in every language and scale, the follow-up's
reasons numbered as a reply names them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from shipnotify.config import Settings
from shipnotify.hooks.sms import REPLIES
from shipnotify.i18n import DEFAULT, text
from shipnotify.model import sms
from shipnotify.model.status import AttemptFailure, Status
from shipnotify.model.survey import RANGES, REASONS, read_reason, read_score
from shipnotify.notifier.senders import WebPush
from shipnotify.notifier.survey_texts import apology_sms, follow_up_sms, survey_sms
from shipnotify.notifier.texts import LANGUAGES, Party, email, sms_text
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.v1 import survey_pb2 as spb
from tests.vapid_keys import key_pair

S = Status
PARTIES: tuple[Party, ...] = ("sender", "recipient")
URL_50 = "https://trk.carrier.example/t/k7m2q4xr5tn3wb6yd2hf"
URL_60 = URL_50 + "?src=sms01"


def test_the_links_are_50_and_60_characters() -> None:
    assert (len(URL_50), len(URL_60)) == (50, 60)


@pytest.mark.parametrize("url", [URL_50, URL_60])
@pytest.mark.parametrize("status", Status)
@pytest.mark.parametrize("party", PARTIES)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_sms_is_one_segment(lang: str, party: Party, status: Status, url: str) -> None:
    texts = [
        sms_text(lang, party, status, tracking_url=url, failure=failure, carrier=carrier)
        for failure in (None, *AttemptFailure)
        for carrier in (None, "Acme")
    ]
    assert [t for t in texts if sms.segments(t) != 1] == []
    assert all(t.endswith(url) for t in texts)


def test_a_language_may_say_the_generic_text_where_a_party_has_its_own() -> None:
    # Russian SMS are short: a sender hears of a confirmed shipment in the generic words.
    assert text("ru", "sms.sender.confirmed") == text("ru", "sms.generic") == "{status}: {url}"
    assert sms_text("ru", "sender", S.CONFIRMED, tracking_url=URL_50) == (
        f"Отправка принята: {URL_50}"
    )
    # while a recipient hears of one awaiting pickup in Russian's own words, not English's.
    assert sms_text("ru", "recipient", S.AWAITING_PICKUP, tracking_url=URL_50) == (
        f"Скоро отправим: {URL_50}"
    )
    assert sms_text("en", "recipient", S.AWAITING_PICKUP, tracking_url=URL_50) == (
        f"Parcel update: Awaiting pickup. Track it: {URL_50}"
    )


def test_a_status_without_texts_of_its_own_says_the_generic_ones() -> None:
    mail = email("ro", "sender", S.IN_TRANSIT, tracking_url=URL_50)
    assert mail.subject == "Actualizare colet: În tranzit"
    assert "Starea lui este acum: În tranzit." in mail.text
    assert sms_text("ro", "sender", S.IN_TRANSIT, tracking_url=URL_50) == (
        f"Actualizare colet: In tranzit. Detalii: {URL_50}"
    )


def test_the_replies_to_inbound_sms_are_english_in_one_segment() -> None:
    assert REPLIES == {"stop": "reply.stop", "start": "reply.start", "help": "reply.help"}
    replies = {word: text(DEFAULT, key) for word, key in REPLIES.items()}
    assert replies == {
        "stop": "You will get no more SMS from us. Reply START to get them again.",
        "start": "You will get SMS about your shipments again. Reply STOP to end them.",
        "help": "Shipment notices. Reply STOP to end them, START to get them again.",
    }
    assert all(sms.is_gsm7(r) and sms.segments(r) == 1 for r in replies.values())


# --- push ----------------------------------------------------------------------------------

TRACKING_ID = "k7m2q4xr5tn3wb6yd2hf"
PUSH_MAX_BYTES = 4096 - 86 - 17  # a push service's 4 KB less aes128gcm's header, tag, padding


def push_sender() -> WebPush:
    private, public = key_pair()
    return WebPush(
        Settings(
            public_url="https://trk.carrier.example",
            vapid_private_key=private,
            vapid_public_key=public,
            vapid_subject="mailto:ops@carrier.example",
        )
    )


def push_job(
    locale: str,
    status: Status,
    *,
    party: npb.PartyRole = npb.PARTY_ROLE_RECIPIENT,
    failure: AttemptFailure | None = None,
) -> npb.NotificationJob:
    job = npb.NotificationJob(
        tracking_id=TRACKING_ID,
        party=party,
        channel=pb.CHANNEL_PUSH,
        locale=locale,
        status=status.proto,
    )
    if failure is not None:
        job.failure = failure.proto
    return job


@pytest.mark.parametrize(
    ("locale", "lang", "title", "body"),
    [
        (
            "en-GB",
            "en",
            "Your parcel is out for delivery",
            "Your parcel is with the courier and should arrive today. Please make sure someone"
            " can receive it.",
        ),
        (
            "ru-MD",
            "ru",
            "Посылка едет к вам",
            "Посылка у курьера и должна прибыть сегодня. Пожалуйста, позаботьтесь, чтобы"  # noqa: RUF001
            " кто-нибудь мог её принять.",
        ),
        (
            "ro_MD",
            "ro",
            "Coletul dvs. este în curs de livrare",
            "Coletul este la curier și ar trebui să ajungă astăzi. Vă rugăm să vă asigurați că"
            " cineva îl poate primi.",
        ),
    ],
)
def test_a_push_says_its_emails_words_in_the_readers_language(
    locale: str, lang: str, title: str, body: str
) -> None:
    payload = json.loads(push_sender().payload(push_job(locale, S.OUT_FOR_DELIVERY)))
    assert payload == {
        "title": title,
        "body": body,
        "url": f"https://trk.carrier.example/t/{TRACKING_ID}",
        "tag": TRACKING_ID,
        "lang": lang,
    }


@pytest.mark.parametrize(
    ("lang", "reason"),
    [
        ("en", "Reason: Nobody was there to receive it."),
        ("ru", "Причина: Получателя не было на месте."),
        ("ro", "Motiv: Destinatarul nu a fost găsit."),
    ],
)
def test_a_push_of_a_delivery_attempted_says_why(lang: str, reason: str) -> None:
    job = push_job(lang, S.DELIVERY_ATTEMPTED, failure=AttemptFailure.RECIPIENT_ABSENT)
    said = json.loads(push_sender().payload(job))
    mail = email(lang, "recipient", S.DELIVERY_ATTEMPTED, tracking_url="https://x.example")
    assert said["title"] == mail.subject
    assert said["body"].endswith(f". {reason}")
    assert said["body"].removesuffix(f" {reason}") in mail.text


def test_a_status_without_push_words_of_its_own_says_the_generic_ones() -> None:
    said = json.loads(push_sender().payload(push_job("ro", S.IN_TRANSIT)))
    assert (said["title"], said["body"]) == (
        "Actualizare colet: În tranzit",
        "Avem noutăți despre coletul dvs. Starea lui este acum: În tranzit.",
    )


def test_every_push_payload_fits_a_push_message() -> None:
    sender = push_sender()
    sizes = [
        len(sender.payload(push_job(lang, status, party=party, failure=failure)))
        for lang in LANGUAGES
        for status in Status
        for party in (npb.PARTY_ROLE_SENDER, npb.PARTY_ROLE_RECIPIENT)
        for failure in (None, *AttemptFailure)
    ]
    assert max(sizes) <= PUSH_MAX_BYTES


@pytest.mark.parametrize(
    ("lang", "line"),
    [
        ("en", "Handed over to Maria Ionescu on May 4, 2026 at 3:07\u202fPM."),
        ("ru", "Вручено: Maria Ionescu, 4 мая 2026\u202fг. в 15:07."),  # noqa: RUF001
        ("ro", "Predat către Maria Ionescu pe 4 mai 2026, la ora 15:07."),
    ],
)
def test_the_senders_delivered_email_says_to_whom_and_when(lang: str, line: str) -> None:
    at = datetime(2026, 5, 4, 12, 7, tzinfo=UTC).astimezone(ZoneInfo("Europe/Chisinau"))
    handed = ("Maria Ionescu", at)
    mail = email(lang, "sender", Status.DELIVERED, tracking_url=URL_50, handed_over=handed)
    assert line in mail.text
    assert line in mail.html
    # only with delivered
    attempted = email(
        lang, "sender", Status.OUT_FOR_DELIVERY, tracking_url=URL_50, handed_over=handed
    )
    assert "Maria" not in attempted.text


# --- the survey loop -----------------------------------------------------------------------

CYRILLIC = re.compile("[\u0400-\u04ff]")


def test_every_scale_is_asked() -> None:
    assert sorted(RANGES) == [spb.SCALE_CSAT, spb.SCALE_NPS, spb.SCALE_CES]


@pytest.mark.parametrize("scale", sorted(RANGES))
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_sms_survey_question_is_one_segment(lang: str, scale: int) -> None:
    question = survey_sms(lang, scale)
    assert sms.segments(question) == 1, question
    assert bool(CYRILLIC.search(question)) == (lang == "ru")  # the others in GSM-7
    low, high = RANGES[scale]
    assert re.findall(r"\d+", question) == [str(low), str(high)]  # the scale's range
    assert [read_score(str(n), scale) for n in (low, high)] == [low, high]


def test_the_survey_question_in_english() -> None:
    assert survey_sms("en-GB", spb.SCALE_CSAT) == (
        "How was your delivery? Reply 1 (poor) to 5 (great)."
    )
    assert survey_sms("en", spb.SCALE_NPS).endswith(
        "Reply 0 (not at all likely) to 10 (extremely likely)."
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_follow_up_numbers_each_reason_as_a_reply_names_it(lang: str) -> None:
    said = follow_up_sms(lang)
    assert re.findall(r"\b(\d)\b", said) == [str(n) for n in range(1, len(REASONS) + 1)]
    assert [read_reason(str(n))[0] for n in range(1, len(REASONS) + 1)] == list(REASONS)
    assert sms.segments(said) <= 3  # several segments, yet short
    assert bool(CYRILLIC.search(said)) == (lang == "ru")


def test_the_follow_up_in_english() -> None:
    assert follow_up_sms("en") == (
        "Sorry. What went wrong? Reply 1 late, 2 not kept informed, 3 damaged,"
        " 4 courier's manner, 5 missed delivery, 6 other, or tell us in your words."
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_apology_by_sms_says_someone_will_call_today_in_one_segment(lang: str) -> None:
    said = apology_sms(lang)
    assert sms.segments(said) == 1, said
    assert bool(CYRILLIC.search(said)) == (lang == "ru")
    assert apology_sms("en") == (
        "We are sorry your delivery went wrong. Someone from our team will call you today."
    )
