from __future__ import annotations

import re

import pytest

from shipnotify.i18n import language_for
from shipnotify.i18n.labels import FAILURE_LABELS
from shipnotify.model.sms import is_gsm7
from shipnotify.model.sms import segments as sms_segments
from shipnotify.model.status import AttemptFailure, Status
from shipnotify.notifier.texts import LANGUAGES, Party, email, sms_text

S = Status
PARTIES: tuple[Party, ...] = ("sender", "recipient")
# The statuses each party hears about unless a contact chose its own.
DEFAULTS: dict[Party, tuple[Status, ...]] = {
    "sender": (S.CONFIRMED, S.PICKED_UP, S.DELIVERY_ATTEMPTED, S.DELIVERED, S.RETURNED_TO_SENDER),
    "recipient": (
        S.PICKED_UP,
        S.OUT_FOR_DELIVERY,
        S.DELIVERY_ATTEMPTED,
        S.READY_FOR_COLLECTION,
        S.DELIVERED,
    ),
}
URL_50 = "https://trk.carrier.example/t/k7m2q4xr5tn3wb6yd2hf"  # 20-character base32 id
URL_60 = URL_50 + "?src=sms01"
CYRILLIC = re.compile("[\u0400-\u04ff]")
RO_DIACRITICS = set("ăâîșțĂÂÎȘȚ")

DEFAULT_CASES = [
    (lang, party, status, failure)
    for lang in LANGUAGES
    for party in PARTIES
    for status in DEFAULTS[party]
    for failure in ([None, *AttemptFailure] if status is S.DELIVERY_ATTEMPTED else [None])
]
EVERY_CASE = [(lang, party, status) for lang in LANGUAGES for party in PARTIES for status in S]


def test_the_url_lengths_are_the_ones_meant() -> None:
    assert (len(URL_50), len(URL_60)) == (50, 60)


@pytest.mark.parametrize("url", [URL_50, URL_60])
@pytest.mark.parametrize(("lang", "party", "status", "failure"), DEFAULT_CASES)
def test_every_default_sms_is_one_segment(
    lang: str, party: Party, status: Status, failure: AttemptFailure | None, url: str
) -> None:
    text = sms_text(lang, party, status, tracking_url=url, failure=failure)
    assert sms_segments(text) == 1, text
    assert text.endswith(url)
    with_carrier = sms_text(lang, party, status, tracking_url=url, failure=failure, carrier="Acme")
    assert sms_segments(with_carrier) == 1, with_carrier


@pytest.mark.parametrize(("lang", "party", "status", "failure"), DEFAULT_CASES)
def test_sms_keeps_its_script_with_a_realistic_url(
    lang: str, party: Party, status: Status, failure: AttemptFailure | None
) -> None:
    text = sms_text(lang, party, status, tracking_url=URL_50, failure=failure)
    if lang == "ru":
        assert CYRILLIC.search(text), text
    else:
        assert is_gsm7(text), text


@pytest.mark.parametrize("lang", ["en", "ro"])
@pytest.mark.parametrize("party", PARTIES)
def test_sms_names_the_failure_where_it_fits(lang: str, party: Party) -> None:
    texts = {
        sms_text(lang, party, S.DELIVERY_ATTEMPTED, tracking_url=URL_60, failure=f)
        for f in AttemptFailure
    }
    assert len(texts) == len(AttemptFailure)


def test_sms_failure_wording() -> None:
    absent = AttemptFailure.RECIPIENT_ABSENT
    en = sms_text("en", "recipient", S.DELIVERY_ATTEMPTED, tracking_url=URL_50, failure=absent)
    assert "nobody was there to receive it" in en
    ro = sms_text("ro", "sender", S.DELIVERY_ATTEMPTED, tracking_url=URL_50, failure=absent)
    assert "destinatarul nu a fost gasit" in ro


def test_russian_sms_names_the_failure_only_when_it_fits() -> None:
    refused = AttemptFailure.REFUSED
    label = FAILURE_LABELS["ru"][refused]
    tiny = "https://t.example/x"
    short = sms_text("ru", "recipient", S.DELIVERY_ATTEMPTED, tracking_url=tiny, failure=refused)
    assert label in short
    long = sms_text("ru", "recipient", S.DELIVERY_ATTEMPTED, tracking_url=URL_50, failure=refused)
    assert sms_segments(long) == 1
    assert label not in long


def test_russian_sms_falls_back_to_latin_when_cyrillic_cannot_fit() -> None:
    text = sms_text("ru", "recipient", S.DELIVERED, tracking_url=URL_60)
    assert text == f"Posylka dostavlena: {URL_60}"
    assert is_gsm7(text)


@pytest.mark.parametrize(
    ("locale", "lang"),
    [
        ("ru-MD", "ru"),
        ("ru", "ru"),
        ("ro", "ro"),
        ("ro_MD", "ro"),
        ("RO-md", "ro"),
        (" en-GB ", "en"),
        ("de-DE", "en"),
        ("", "en"),
        ("r", "en"),
    ],
)
def test_language_for(locale: str, lang: str) -> None:
    assert language_for(locale) == lang


@pytest.mark.parametrize(("lang", "party", "status"), EVERY_CASE)
def test_every_status_has_an_sms_and_an_email_in_every_language(
    lang: str, party: Party, status: Status
) -> None:
    text = sms_text(lang, party, status, tracking_url=URL_50)
    assert URL_50 in text
    assert sms_segments(text) == 1
    mail = email(lang, party, status, tracking_url=URL_50)
    assert mail.subject.strip()
    assert "\n" not in mail.subject
    assert URL_50 in mail.text
    assert f'href="{URL_50}"' in mail.html
    assert f'<html lang="{lang}">' in mail.html
    if lang == "ru":
        assert CYRILLIC.search(mail.subject)


def test_subjects_are_localized() -> None:
    subjects = {
        lang: email(lang, "recipient", S.DELIVERED, tracking_url=URL_50).subject
        for lang in LANGUAGES
    }
    assert len(set(subjects.values())) == len(LANGUAGES)
    assert CYRILLIC.search(subjects["ru"])
    assert not CYRILLIC.search(subjects["en"] + subjects["ro"])


def test_romanian_email_keeps_its_diacritics() -> None:
    mail = email("ro", "recipient", S.OUT_FOR_DELIVERY, tracking_url=URL_50)
    assert RO_DIACRITICS & set(mail.subject + mail.text)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("party", PARTIES)
@pytest.mark.parametrize("failure", AttemptFailure)
def test_email_names_the_failure_in_both_parts(
    lang: str, party: Party, failure: AttemptFailure
) -> None:
    mail = email(lang, party, S.DELIVERY_ATTEMPTED, tracking_url=URL_50, failure=failure)
    label = FAILURE_LABELS[lang][failure]
    assert label in mail.text
    assert label in mail.html


def test_email_escapes_what_it_puts_in_html() -> None:
    url = 'https://trk.carrier.example/t/a"b<c>d&e'
    mail = email(
        "en",
        "recipient",
        S.DELIVERED,
        tracking_url=url,
        unsubscribe_url="https://trk.carrier.example/u?a=1&b=2",
        name="<Ann & Bob>",
    )
    assert url in mail.text
    assert "Hello <Ann & Bob>," in mail.text
    assert "a&#34;b&lt;c&gt;d&amp;e" in mail.html  # MarkupSafe writes a quote as &#34;
    assert url not in mail.html
    assert "&lt;Ann &amp; Bob&gt;" in mail.html
    assert "<Ann" not in mail.html
    assert 'href="https://trk.carrier.example/u?a=1&amp;b=2"' in mail.html


def test_both_email_parts_carry_the_same_content() -> None:
    mail = email(
        "en",
        "sender",
        S.DELIVERY_ATTEMPTED,
        tracking_url=URL_50,
        failure=AttemptFailure.REFUSED,
        unsubscribe_url="https://trk.carrier.example/u/1",
        carrier="Acme Parcels",
    )
    for part in ("We could not deliver your parcel", "Delivery was refused", "Acme Parcels"):
        assert part in mail.text
        assert part in mail.html
    for part in (URL_50, "https://trk.carrier.example/u/1", "Unsubscribe"):
        assert part in mail.text
        assert part in mail.html
    without = email("en", "sender", S.DELIVERED, tracking_url=URL_50)
    assert "Unsubscribe" not in without.text + without.html


@pytest.mark.parametrize("url", ["javascript:alert(1)", "//trk.carrier.example/t/x", "trk/t/x"])
def test_email_refuses_a_link_that_is_not_http(url: str) -> None:
    with pytest.raises(ValueError, match="http"):
        email("en", "sender", S.DELIVERED, tracking_url=url)
    with pytest.raises(ValueError, match="http"):
        email("en", "sender", S.DELIVERED, tracking_url=URL_50, unsubscribe_url=url)
