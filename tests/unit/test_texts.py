"""The notices' words as the catalogs hold them: every SMS fits one segment whatever it says,
a language may say the generic text where a party has one of its own, and the replies to
inbound SMS are looked up too."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from shipnotify.hooks.sms import REPLIES
from shipnotify.i18n import DEFAULT, text
from shipnotify.model import sms
from shipnotify.model.status import AttemptFailure, Status
from shipnotify.notifier.texts import LANGUAGES, Party, email, sms_text

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
