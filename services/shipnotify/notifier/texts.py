# ruff: noqa: RUF001  # the Russian letters of the transliteration are Cyrillic on purpose
"""The words of every notice, SMS, email and push, in the contact's language.

The words are in the catalogs (`shipnotify.i18n`, keys `sms.*`, `email.*` and `push.*`);
this module names the keys a notice says and puts them together. A party has texts of its
own for the statuses listed here; every other status says the generic text with the
status's name, and so does a language whose catalog answers an own key with `=sms.generic` (or
`=email.generic.subject`, `=email.generic.body`). The email is rendered from
templates/email.txt and templates/email.html, the HTML autoescaped. A push says its email's
subject and body (the same words in the same place: a title and a few sentences), and the
failure of a delivery attempted after them (`push.reason`).

An SMS is always rendered to fit one segment when it can. It is tried, in order: with
the failure reason and the carrier name, without the carrier name, without the reason;
then the same again folded to the GSM-7 alphabet (Russian transliterated to Latin,
Romanian without diacritics). Romanian SMS texts are written without diacritics, so
they are GSM-7 already: 160 characters. A Russian SMS in Cyrillic is UCS-2 and only
70 characters, so its texts are very short and its reason rarely fits.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from babel.dates import format_date, format_time
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from shipnotify.i18n import language_for, mark, text
from shipnotify.i18n.labels import FAILURE_LABELS, LANGUAGES, STATUS_LABELS
from shipnotify.model import sms
from shipnotify.model.status import AttemptFailure, Status

__all__ = [
    "LANGUAGES",
    "TEMPLATES",
    "Email",
    "Party",
    "Push",
    "check_links",
    "email",
    "greeting",
    "letter",
    "push",
    "sms_text",
]

Party = Literal["sender", "recipient"]
S = Status
F = AttemptFailure

# --- SMS ---------------------------------------------------------------------------------

_SMS_GENERIC = mark("sms.generic")  # "{status}", "{url}"
# A status's name in an SMS: short (a Cyrillic SMS holds 70 characters, the link included).
_SMS_STATUS = {
    S.REGISTERED: mark("sms.status.registered"),
    S.CONFIRMED: mark("sms.status.confirmed"),
    S.AWAITING_PICKUP: mark("sms.status.awaiting_pickup"),
    S.PICKED_UP: mark("sms.status.picked_up"),
    S.IN_TRANSIT: mark("sms.status.in_transit"),
    S.OUT_FOR_DELIVERY: mark("sms.status.out_for_delivery"),
    S.DELIVERY_ATTEMPTED: mark("sms.status.delivery_attempted"),
    S.READY_FOR_COLLECTION: mark("sms.status.ready_for_collection"),
    S.DELIVERED: mark("sms.status.delivered"),
    S.RETURNED_TO_SENDER: mark("sms.status.returned_to_sender"),
    S.CANCELLED: mark("sms.status.cancelled"),
}
# "{reason}" of a delivery attempted, inside a sentence.
_SMS_REASON = {
    F.RECIPIENT_ABSENT: mark("sms.failure.recipient_absent"),
    F.ADDRESS_INCORRECT: mark("sms.failure.address_incorrect"),
    F.REFUSED: mark("sms.failure.refused"),
    F.NO_ACCESS: mark("sms.failure.no_access"),
    F.BUSINESS_CLOSED: mark("sms.failure.business_closed"),
    F.OTHER: mark("sms.failure.other"),
}
# The texts of a party's own: "{url}" (and "{status}", as the generic text has).
_SMS_OWN: dict[tuple[Party, Status], str] = {
    ("sender", S.CONFIRMED): mark("sms.sender.confirmed"),
    ("sender", S.PICKED_UP): mark("sms.sender.picked_up"),
    ("sender", S.DELIVERY_ATTEMPTED): mark("sms.sender.delivery_attempted"),
    ("sender", S.DELIVERED): mark("sms.sender.delivered"),
    ("sender", S.RETURNED_TO_SENDER): mark("sms.sender.returned_to_sender"),
    ("recipient", S.AWAITING_PICKUP): mark("sms.recipient.awaiting_pickup"),
    ("recipient", S.PICKED_UP): mark("sms.recipient.picked_up"),
    ("recipient", S.OUT_FOR_DELIVERY): mark("sms.recipient.out_for_delivery"),
    ("recipient", S.DELIVERY_ATTEMPTED): mark("sms.recipient.delivery_attempted"),
    ("recipient", S.READY_FOR_COLLECTION): mark("sms.recipient.ready_for_collection"),
    ("recipient", S.DELIVERED): mark("sms.recipient.delivered"),
}
# A delivery attempted whose failure is known: "{reason}", "{url}".
_SMS_WITH_REASON: dict[Party, str] = {
    "sender": mark("sms.sender.delivery_attempted.with_reason"),
    "recipient": mark("sms.recipient.delivery_attempted.with_reason"),
}

# Folding to GSM-7: Russian transliterated, Romanian diacritics (comma and cedilla forms) dropped.
_RU_LATIN = dict(zip("абвгдезийклмнопрстуфыэ", "abvgdeziyklmnoprstufye", strict=True)) | {
    "ё": "e",
    "ж": "zh",
    "х": "kh",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "shch",
    "ъ": "",
    "ь": "",
    "ю": "yu",
    "я": "ya",
}
_FOLD = str.maketrans(
    _RU_LATIN
    | {k.upper(): v.capitalize() for k, v in _RU_LATIN.items()}
    | dict(zip("ăâîșțşţĂÂÎȘȚŞŢ—–«»’", "aaistst" + "AAISTST" + '--""\'', strict=True))
)


def sms_text(
    lang: str,
    party: Party,
    status: Status,
    *,
    tracking_url: str,
    failure: AttemptFailure | None = None,
    carrier: str | None = None,
) -> str:
    """The SMS for a status, in one segment whenever any of its forms fits in one.

    `carrier`, a short name, prefixes the text when it fits.
    """
    forms = list(_sms_forms(language_for(lang), party, status, tracking_url, failure, carrier))
    return next((form for form in forms if sms.segments(form) == 1), forms[-1])


def _sms_forms(
    lang: str,
    party: Party,
    status: Status,
    url: str,
    failure: AttemptFailure | None,
    carrier: str | None,
) -> Iterator[str]:
    """Every form of the SMS, the preferred first, the shortest last."""
    bodies = [text(lang, _SMS_OWN.get((party, status), _SMS_GENERIC))]
    values = {"status": text(lang, _SMS_STATUS[status]), "url": url}
    if failure is not None and status is Status.DELIVERY_ATTEMPTED:
        bodies.insert(0, text(lang, _SMS_WITH_REASON[party]))
        values["reason"] = text(lang, _SMS_REASON[failure])
    prefixes = [f"{carrier}: ", ""] if carrier else [""]
    native = [prefix + body.format_map(values) for body in bodies for prefix in prefixes]
    yield from native
    yield from (form.translate(_FOLD) for form in native)


# --- Email -------------------------------------------------------------------------------

_EMAIL_GENERIC = (mark("email.generic.subject"), mark("email.generic.body"))  # "{status}"
# A party's own subjects and bodies ("{status}" allowed, as the generic ones have it).
_EMAIL_OWN: dict[tuple[Party, Status], tuple[str, str]] = {
    ("sender", S.CONFIRMED): (
        mark("email.sender.confirmed.subject"),
        mark("email.sender.confirmed.body"),
    ),
    ("sender", S.PICKED_UP): (
        mark("email.sender.picked_up.subject"),
        mark("email.sender.picked_up.body"),
    ),
    ("sender", S.DELIVERY_ATTEMPTED): (
        mark("email.sender.delivery_attempted.subject"),
        mark("email.sender.delivery_attempted.body"),
    ),
    ("sender", S.DELIVERED): (
        mark("email.sender.delivered.subject"),
        mark("email.sender.delivered.body"),
    ),
    ("sender", S.RETURNED_TO_SENDER): (
        mark("email.sender.returned_to_sender.subject"),
        mark("email.sender.returned_to_sender.body"),
    ),
    ("recipient", S.PICKED_UP): (
        mark("email.recipient.picked_up.subject"),
        mark("email.recipient.picked_up.body"),
    ),
    ("recipient", S.OUT_FOR_DELIVERY): (
        mark("email.recipient.out_for_delivery.subject"),
        mark("email.recipient.out_for_delivery.body"),
    ),
    ("recipient", S.DELIVERY_ATTEMPTED): (
        mark("email.recipient.delivery_attempted.subject"),
        mark("email.recipient.delivery_attempted.body"),
    ),
    ("recipient", S.READY_FOR_COLLECTION): (
        mark("email.recipient.ready_for_collection.subject"),
        mark("email.recipient.ready_for_collection.body"),
    ),
    ("recipient", S.DELIVERED): (
        mark("email.recipient.delivered.subject"),
        mark("email.recipient.delivered.body"),
    ),
}

TEMPLATES = Environment(
    loader=PackageLoader("shipnotify.notifier"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_PLAIN = TEMPLATES.get_template("email.txt")
_HTML = TEMPLATES.get_template("email.html")


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class _Letter:
    """One email's words, looked up: what both templates render."""

    lang: str
    subject: str
    greeting: str
    body: str
    reason_label: str
    reason: str | None  # the failure of a delivery attempted
    handed_over: str | None  # to whom and when a delivered parcel was handed
    track: str
    tracking_url: str
    link_hint: str
    regards: str
    signature: str  # the carrier, or the delivery team
    why: str
    unsubscribe: str
    unsubscribe_url: str | None


def email(
    lang: str,
    party: Party,
    status: Status,
    *,
    tracking_url: str,
    failure: AttemptFailure | None = None,
    unsubscribe_url: str | None = None,
    name: str | None = None,
    carrier: str | None = None,
    handed_over: tuple[str, datetime] | None = None,
) -> Email:
    """The email for a status: subject, plain text and HTML with the same content.

    `name` personalises the greeting; `carrier` signs it; `handed_over`, to whom and when
    (in the reader's time zone) a delivered parcel was handed. Raises ValueError for a link
    that is not http(s), since it becomes an href.
    """
    check_links(tracking_url, unsubscribe_url)
    lang = language_for(lang)
    letter = _letter(lang, party, status, tracking_url, failure, unsubscribe_url, name, carrier)
    if handed_over is not None and status is Status.DELIVERED:
        to, at = handed_over
        line = text(lang, mark("email.handed_over"))  # "{name}", "{date}", "{time}"
        when = {
            "date": format_date(at, "long", locale=lang),
            "time": format_time(at, "short", locale=lang),
        }
        letter = replace(letter, handed_over=line.format(name=to, **when))
    return _rendered(letter)


def letter(
    lang: str, subject: str, body: str, *, tracking_url: str, name: str | None = None
) -> Email:
    """An email laid out as a status's, saying another notice's `subject` and `body` (in
    `lang`, looked up already): the greeting, the tracking link, the regards and the note of
    why it came are the status emails'."""
    check_links(tracking_url)
    lang = language_for(lang)
    return _rendered(_framed(lang, subject, body, tracking_url, name=name))


def check_links(*urls: str | None) -> None:
    """ValueError for a link that is not http(s): it becomes an href."""
    for url in urls:
        if url is not None and not url.lower().startswith(("https://", "http://")):
            raise ValueError(f"not an http(s) link: {url!r}")


def _rendered(letter: _Letter) -> Email:
    words = vars(letter)
    return Email(subject=letter.subject, text=_PLAIN.render(words), html=_HTML.render(words))


def _letter(
    lang: str,
    party: Party,
    status: Status,
    url: str,
    failure: AttemptFailure | None,
    unsubscribe_url: str | None,
    name: str | None,
    carrier: str | None,
) -> _Letter:
    subject, body = _EMAIL_OWN.get((party, status), _EMAIL_GENERIC)
    label = STATUS_LABELS[lang][status]
    reason = None
    if failure is not None and status is Status.DELIVERY_ATTEMPTED:
        reason = FAILURE_LABELS[lang][failure]
    return _framed(
        lang,
        text(lang, subject).format(status=label),
        text(lang, body).format(status=label),
        url,
        name=name,
        carrier=carrier,
        reason=reason,
        unsubscribe_url=unsubscribe_url,
    )


def greeting(lang: str, name: str | None) -> str:
    """ "Hello {name}," or, without a name, "Hello," in `lang`."""
    if name:
        return text(lang, mark("email.hello_name")).format(name=name)  # "{name}"
    return text(lang, mark("email.hello"))


def _framed(
    lang: str,
    subject: str,
    body: str,
    url: str,
    *,
    name: str | None,
    carrier: str | None = None,
    reason: str | None = None,
    unsubscribe_url: str | None = None,
) -> _Letter:
    return _Letter(
        lang=lang,
        subject=subject,
        greeting=greeting(lang, name),
        body=body,
        reason_label=text(lang, mark("email.reason")),
        reason=reason,
        handed_over=None,
        track=text(lang, mark("email.track")),
        tracking_url=url,
        link_hint=text(lang, mark("email.link_hint")),
        regards=text(lang, mark("email.regards")),
        signature=carrier or text(lang, mark("email.team")),
        why=text(lang, mark("email.why")),
        unsubscribe=text(lang, mark("email.unsubscribe")),
        unsubscribe_url=unsubscribe_url,
    )


# --- Push --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Push:
    title: str
    body: str


def push(lang: str, party: Party, status: Status, *, failure: AttemptFailure | None = None) -> Push:
    """The push notification for a status: its email's subject as the title and its body,
    with the failure of a delivery attempted."""
    lang = language_for(lang)
    subject, body = _EMAIL_OWN.get((party, status), _EMAIL_GENERIC)
    label = STATUS_LABELS[lang][status]
    said = text(lang, body).format(status=label)
    if failure is not None and status is Status.DELIVERY_ATTEMPTED:
        reason = text(lang, mark("push.reason"))  # "{reason}"
        said += " " + reason.format(reason=FAILURE_LABELS[lang][failure])
    return Push(title=text(lang, subject).format(status=label), body=said)
