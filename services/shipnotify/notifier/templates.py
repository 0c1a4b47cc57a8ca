# ruff: noqa: RUF001  # the Russian texts are Cyrillic on purpose
"""The words of every notice: SMS and email, per language, party and status.

Each language has party-specific texts for the statuses a party hears about by default,
and a generic text, built from the status label, for every other status a contact may
choose. Status and failure labels come from the tracking API's table.

An SMS is always rendered to fit one segment when it can. It is tried, in order: with
the failure reason and the carrier name, without the carrier name, without the reason;
then the same again folded to the GSM-7 alphabet (Russian transliterated to Latin,
Romanian without diacritics). Romanian SMS texts are written without diacritics, so
they are GSM-7 already: 160 characters. A Russian SMS in Cyrillic is UCS-2 and only
70 characters, so its texts are very short and its reason rarely fits.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from shipnotify.i18n.labels import DEFAULT, FAILURE_LABELS, LANGUAGES, STATUS_LABELS
from shipnotify.model import sms
from shipnotify.model.status import AttemptFailure, Status

__all__ = [
    "LANGUAGES",
    "Email",
    "Party",
    "email",
    "language_for",
    "sms_text",
]

Party = Literal["sender", "recipient"]
S = Status


def language_for(locale: str) -> str:
    """The language of LANGUAGES for a locale such as "ru-MD" or "ro_MD"; English otherwise."""
    lang = locale.strip().replace("_", "-").split("-")[0].lower()
    return lang if lang in LANGUAGES else DEFAULT


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


def _to_gsm7(text: str) -> str:
    return text.translate(_FOLD)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


# --- SMS texts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _SmsCopy:
    generic: str  # for a status without a text of its own: "{status}", "{url}"
    statuses: Mapping[Status, str]  # the status names `generic` uses
    texts: Mapping[Party, Mapping[Status, str]]  # "{url}"
    attempted: Mapping[Party, str]  # delivery attempted, with "{reason}" and "{url}"
    reasons: Mapping[AttemptFailure, str]


_SMS: dict[str, _SmsCopy] = {
    "en": _SmsCopy(
        generic="Parcel update: {status}. Track it: {url}",
        statuses=STATUS_LABELS["en"],
        texts={
            "sender": {
                S.CONFIRMED: "Your shipment is confirmed. We'll text you when the courier "
                "picks it up. Track it: {url}",
                S.PICKED_UP: "The courier has picked up your parcel. It is on its way to the "
                "recipient. Track it: {url}",
                S.DELIVERY_ATTEMPTED: "We could not deliver your parcel to the recipient. "
                "Details: {url}",
                S.DELIVERED: "Your parcel has been delivered to the recipient. Thank you! "
                "Details: {url}",
                S.RETURNED_TO_SENDER: "Your parcel could not be delivered and has been "
                "returned to you. Details: {url}",
            },
            "recipient": {
                S.PICKED_UP: "Your parcel is on its way! The courier has picked it up from "
                "the sender. Track it: {url}",
                S.OUT_FOR_DELIVERY: "Your parcel is out for delivery and should arrive today. "
                "Track it: {url}",
                S.DELIVERY_ATTEMPTED: "We tried to deliver your parcel but could not. "
                "Next steps: {url}",
                S.READY_FOR_COLLECTION: "Good news: your parcel is ready for collection. "
                "Details: {url}",
                S.DELIVERED: "Your parcel has been delivered. Enjoy! Details: {url}",
            },
        },
        attempted={
            "sender": "We could not deliver your parcel to the recipient: {reason}. Details: {url}",
            "recipient": "We could not deliver your parcel: {reason}. Next steps: {url}",
        },
        reasons={k: _lower_first(v) for k, v in FAILURE_LABELS["en"].items()},
    ),
    "ru": _SmsCopy(
        generic="{status}: {url}",
        # Short: a Cyrillic SMS holds 70 characters, the link included.
        statuses={
            S.REGISTERED: "Посылка оформлена",
            S.CONFIRMED: "Отправка принята",
            S.AWAITING_PICKUP: "Ждём курьера",
            S.PICKED_UP: "Посылку забрали",
            S.IN_TRANSIT: "Посылка в пути",
            S.OUT_FOR_DELIVERY: "Посылка едет к вам",
            S.DELIVERY_ATTEMPTED: "Посылка не вручена",
            S.READY_FOR_COLLECTION: "Посылка ждёт вас",
            S.DELIVERED: "Посылка доставлена",
            S.RETURNED_TO_SENDER: "Посылка возвращена",
            S.CANCELLED: "Отправка отменена",
        },
        texts={
            "sender": {S.RETURNED_TO_SENDER: "Посылка вернулась: {url}"},
            "recipient": {
                S.AWAITING_PICKUP: "Скоро отправим: {url}",
                S.PICKED_UP: "Посылка отправлена: {url}",
            },
        },
        attempted={
            "sender": "Посылка не вручена. {reason}: {url}",
            "recipient": "Посылка не вручена. {reason}: {url}",
        },
        reasons=FAILURE_LABELS["ru"],
    ),
    "ro": _SmsCopy(
        generic="Actualizare colet: {status}. Detalii: {url}",
        statuses={k: _to_gsm7(v) for k, v in STATUS_LABELS["ro"].items()},
        texts={
            "sender": {
                S.CONFIRMED: "Expedierea dvs. a fost confirmata. Va anuntam cand curierul "
                "preia coletul. Detalii: {url}",
                S.PICKED_UP: "Curierul a preluat coletul dvs. si il duce catre destinatar. "
                "Detalii: {url}",
                S.DELIVERY_ATTEMPTED: "Nu am putut livra coletul dvs. destinatarului. "
                "Detalii: {url}",
                S.DELIVERED: "Coletul dvs. a fost livrat destinatarului. Va multumim! "
                "Detalii: {url}",
                S.RETURNED_TO_SENDER: "Coletul nu a putut fi livrat si v-a fost returnat. "
                "Detalii: {url}",
            },
            "recipient": {
                S.PICKED_UP: "Coletul dvs. e pe drum! Curierul l-a preluat de la expeditor. "
                "Detalii: {url}",
                S.OUT_FOR_DELIVERY: "Coletul dvs. este in curs de livrare si ar trebui sa "
                "ajunga azi. Detalii: {url}",
                S.DELIVERY_ATTEMPTED: "Am incercat sa livram coletul dvs., dar nu am reusit. "
                "Pasii urmatori: {url}",
                S.READY_FOR_COLLECTION: "Vesti bune: coletul dvs. este gata de ridicare. "
                "Detalii: {url}",
                S.DELIVERED: "Coletul dvs. a fost livrat. Va multumim! Detalii: {url}",
            },
        },
        attempted={
            "sender": "Nu am putut livra coletul dvs. destinatarului: {reason}. Detalii: {url}",
            "recipient": "Nu am putut livra coletul dvs.: {reason}. Pasii urmatori: {url}",
        },
        reasons={k: _to_gsm7(_lower_first(v)) for k, v in FAILURE_LABELS["ro"].items()},
    ),
}


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
    return next((text for text in forms if sms.segments(text) == 1), forms[-1])


def _sms_forms(
    lang: str,
    party: Party,
    status: Status,
    url: str,
    failure: AttemptFailure | None,
    carrier: str | None,
) -> Iterator[str]:
    """Every form of the SMS, the preferred first, the shortest last."""
    copy = _SMS[lang]
    bodies = [copy.texts[party].get(status, copy.generic)]
    values = {"status": copy.statuses[status], "url": url}
    if failure is not None and status is Status.DELIVERY_ATTEMPTED:
        bodies.insert(0, copy.attempted[party])
        values["reason"] = copy.reasons[failure]
    prefixes = [f"{carrier}: ", ""] if carrier else [""]
    native = [prefix + body.format_map(values) for body in bodies for prefix in prefixes]
    yield from native
    yield from (_to_gsm7(text) for text in native)


# --- Email texts -------------------------------------------------------------------------


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class _Copy:
    subject: str
    body: str


@dataclass(frozen=True)
class _EmailCopy:
    generic: _Copy  # "{status}"
    texts: Mapping[Party, Mapping[Status, _Copy]]
    hello: str
    hello_name: str  # "{name}"
    reason: str
    track: str
    link_hint: str
    regards: str
    team: str
    why: str
    unsubscribe: str


_EMAIL: dict[str, _EmailCopy] = {
    "en": _EmailCopy(
        generic=_Copy(
            "Parcel update: {status}",
            "There is news about your parcel. Its status is now: {status}.",
        ),
        texts={
            "sender": {
                S.CONFIRMED: _Copy(
                    "Your shipment is confirmed",
                    "Thank you for shipping with us. Your shipment is confirmed, and we will "
                    "let you know when the courier picks it up.",
                ),
                S.PICKED_UP: _Copy(
                    "Your parcel has been picked up",
                    "The courier has picked up your parcel, and it is now on its way to the "
                    "recipient.",
                ),
                S.DELIVERY_ATTEMPTED: _Copy(
                    "We could not deliver your parcel",
                    "The courier tried to deliver your parcel to the recipient but could not "
                    "hand it over. The tracking page shows what happens next.",
                ),
                S.DELIVERED: _Copy(
                    "Your parcel has been delivered",
                    "Your parcel has been delivered to the recipient. Thank you for shipping "
                    "with us!",
                ),
                S.RETURNED_TO_SENDER: _Copy(
                    "Your parcel has been returned to you",
                    "We could not deliver your parcel, so it has been returned to you. The "
                    "tracking page has the details.",
                ),
            },
            "recipient": {
                S.PICKED_UP: _Copy(
                    "Your parcel is on its way",
                    "The courier has picked up your parcel from the sender. We will let you "
                    "know when it is out for delivery.",
                ),
                S.OUT_FOR_DELIVERY: _Copy(
                    "Your parcel is out for delivery",
                    "Your parcel is with the courier and should arrive today. Please make sure "
                    "someone can receive it.",
                ),
                S.DELIVERY_ATTEMPTED: _Copy(
                    "We could not deliver your parcel",
                    "The courier tried to deliver your parcel but could not hand it over. The "
                    "tracking page shows what happens next.",
                ),
                S.READY_FOR_COLLECTION: _Copy(
                    "Your parcel is ready for collection",
                    "Your parcel is waiting for you. The tracking page has the details.",
                ),
                S.DELIVERED: _Copy(
                    "Your parcel has been delivered",
                    "Your parcel has been delivered. We hope you enjoy it!",
                ),
            },
        },
        hello="Hello,",
        hello_name="Hello {name},",
        reason="Reason",
        track="Track your parcel",
        link_hint="If the button does not work, open this link:",
        regards="Kind regards,",
        team="Your delivery team",
        why="You are receiving this email because your address was given for updates about "
        "this shipment.",
        unsubscribe="Unsubscribe",
    ),
    "ru": _EmailCopy(
        generic=_Copy("Статус посылки: {status}", "Статус вашей посылки изменился: {status}."),
        texts={
            "sender": {
                S.CONFIRMED: _Copy(
                    "Отправка подтверждена",
                    "Спасибо, что выбрали нас. Отправка подтверждена, и мы сообщим, когда "
                    "курьер заберёт посылку.",
                ),
                S.PICKED_UP: _Copy(
                    "Курьер забрал посылку",
                    "Курьер забрал вашу посылку, и она уже в пути к получателю.",
                ),
                S.DELIVERY_ATTEMPTED: _Copy(
                    "Не удалось доставить посылку",
                    "Курьер пытался доставить посылку получателю, но не смог её вручить. "
                    "Что будет дальше, видно на странице отслеживания.",
                ),
                S.DELIVERED: _Copy(
                    "Посылка доставлена",
                    "Ваша посылка доставлена получателю. Спасибо, что выбрали нас!",
                ),
                S.RETURNED_TO_SENDER: _Copy(
                    "Посылка возвращена вам",
                    "Посылку не удалось доставить, и она возвращена вам. Подробности — на "
                    "странице отслеживания.",
                ),
            },
            "recipient": {
                S.PICKED_UP: _Copy(
                    "Ваша посылка в пути",
                    "Курьер забрал посылку у отправителя. Мы сообщим, когда её повезут к вам.",
                ),
                S.OUT_FOR_DELIVERY: _Copy(
                    "Посылка едет к вам",
                    "Посылка у курьера и должна прибыть сегодня. Пожалуйста, позаботьтесь, "
                    "чтобы кто-нибудь мог её принять.",
                ),
                S.DELIVERY_ATTEMPTED: _Copy(
                    "Не удалось доставить посылку",
                    "Курьер пытался доставить вашу посылку, но не смог её вручить. Что будет "
                    "дальше, видно на странице отслеживания.",
                ),
                S.READY_FOR_COLLECTION: _Copy(
                    "Посылка готова к получению",
                    "Ваша посылка ждёт вас. Подробности — на странице отслеживания.",
                ),
                S.DELIVERED: _Copy(
                    "Посылка доставлена",
                    "Ваша посылка доставлена. Надеемся, она вас порадует!",
                ),
            },
        },
        hello="Здравствуйте!",
        hello_name="Здравствуйте, {name}!",
        reason="Причина",
        track="Отследить посылку",
        link_hint="Если кнопка не работает, откройте ссылку:",
        regards="С уважением,",
        team="служба доставки",
        why="Вы получили это письмо, потому что ваш адрес указан для уведомлений об этой посылке.",
        unsubscribe="Отписаться",
    ),
    "ro": _EmailCopy(
        generic=_Copy(
            "Actualizare colet: {status}",
            "Avem noutăți despre coletul dvs. Starea lui este acum: {status}.",
        ),
        texts={
            "sender": {
                S.CONFIRMED: _Copy(
                    "Expedierea dvs. a fost confirmată",
                    "Vă mulțumim că ne-ați ales. Expedierea a fost confirmată și vă anunțăm "
                    "când curierul preia coletul.",
                ),
                S.PICKED_UP: _Copy(
                    "Coletul dvs. a fost preluat",
                    "Curierul a preluat coletul dvs., iar acesta este acum în drum spre "
                    "destinatar.",
                ),
                S.DELIVERY_ATTEMPTED: _Copy(
                    "Nu am putut livra coletul",
                    "Curierul a încercat să livreze coletul destinatarului, dar nu a reușit "
                    "să i-l predea. Pe pagina de urmărire vedeți ce urmează.",
                ),
                S.DELIVERED: _Copy(
                    "Coletul dvs. a fost livrat",
                    "Coletul dvs. a fost livrat destinatarului. Vă mulțumim că ne-ați ales!",
                ),
                S.RETURNED_TO_SENDER: _Copy(
                    "Coletul v-a fost returnat",
                    "Coletul nu a putut fi livrat și v-a fost returnat. Detaliile sunt pe "
                    "pagina de urmărire.",
                ),
            },
            "recipient": {
                S.PICKED_UP: _Copy(
                    "Coletul dvs. este pe drum",
                    "Curierul a preluat coletul de la expeditor. Vă anunțăm când pornește "
                    "spre dvs.",
                ),
                S.OUT_FOR_DELIVERY: _Copy(
                    "Coletul dvs. este în curs de livrare",
                    "Coletul este la curier și ar trebui să ajungă astăzi. Vă rugăm să vă "
                    "asigurați că cineva îl poate primi.",
                ),
                S.DELIVERY_ATTEMPTED: _Copy(
                    "Nu am putut livra coletul",
                    "Curierul a încercat să vă livreze coletul, dar nu a reușit să vi-l "
                    "predea. Pe pagina de urmărire vedeți ce urmează.",
                ),
                S.READY_FOR_COLLECTION: _Copy(
                    "Coletul dvs. este gata de ridicare",
                    "Coletul vă așteaptă. Detaliile sunt pe pagina de urmărire.",
                ),
                S.DELIVERED: _Copy(
                    "Coletul dvs. a fost livrat",
                    "Coletul dvs. a fost livrat. Sperăm să vă bucure!",
                ),
            },
        },
        hello="Bună ziua,",
        hello_name="Bună ziua, {name},",
        reason="Motiv",
        track="Urmăriți coletul",
        link_hint="Dacă butonul nu funcționează, deschideți acest link:",
        regards="Cu stimă,",
        team="Echipa de livrare",
        why="Primiți acest e-mail deoarece adresa dvs. a fost indicată pentru notificări "
        "despre acest colet.",
        unsubscribe="Dezabonare",
    ),
}


@dataclass(frozen=True)
class _Letter:
    """One email's content, plain; both parts are rendered from it."""

    lang: str
    subject: str
    greeting: str
    body: str
    reason: tuple[str, str] | None  # label, value
    track: str
    tracking_url: str
    link_hint: str
    signature: tuple[str, str]
    why: str
    unsubscribe: tuple[str, str] | None  # label, url


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
) -> Email:
    """The email for a status: subject, plain text and HTML with the same content.

    `name` personalises the greeting; `carrier` signs it. Raises ValueError for a link
    that is not http(s), since it becomes an href.
    """
    for url in (tracking_url, unsubscribe_url):
        if url is not None and not url.lower().startswith(("https://", "http://")):
            raise ValueError(f"not an http(s) link: {url!r}")
    letter = _letter(language_for(lang), party, status, tracking_url, failure, name, carrier)
    if unsubscribe_url is not None:
        letter = replace(letter, unsubscribe=(_EMAIL[letter.lang].unsubscribe, unsubscribe_url))
    return Email(subject=letter.subject, text=_plain(letter), html=_html(letter))


def _letter(
    lang: str,
    party: Party,
    status: Status,
    url: str,
    failure: AttemptFailure | None,
    name: str | None,
    carrier: str | None,
) -> _Letter:
    copy = _EMAIL[lang]
    words = copy.texts[party].get(status, copy.generic)
    label = STATUS_LABELS[lang][status]
    reason = None
    if failure is not None and status is Status.DELIVERY_ATTEMPTED:
        reason = (copy.reason, FAILURE_LABELS[lang][failure])
    return _Letter(
        lang=lang,
        subject=words.subject.format(status=label),
        greeting=copy.hello_name.format(name=name) if name else copy.hello,
        body=words.body.format(status=label),
        reason=reason,
        track=copy.track,
        tracking_url=url,
        link_hint=copy.link_hint,
        signature=(copy.regards, carrier or copy.team),
        why=copy.why,
        unsubscribe=None,
    )


def _plain(letter: _Letter) -> str:
    blocks = [letter.subject, letter.greeting, letter.body]
    if letter.reason:
        blocks.append(f"{letter.reason[0]}: {letter.reason[1]}")
    blocks += [f"{letter.track}: {letter.tracking_url}", "\n".join(letter.signature)]
    footer = letter.why
    if letter.unsubscribe:
        footer += f"\n{letter.unsubscribe[0]}: {letter.unsubscribe[1]}"
    blocks.append(f"-- \n{footer}")
    return "\n\n".join(blocks) + "\n"


_BODY = "font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;color:#1f2933"
_BUTTON = (
    "display:inline-block;padding:12px 20px;background-color:#0b5cab;color:#ffffff;"
    "text-decoration:none;border-radius:4px;font-weight:bold"
)
_SMALL = "font-size:13px;color:#52606d"
_LINK = "color:#0b5cab"

_PAGE = """\
<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{subject}</title>
</head>
<body style="margin:0;padding:0;background-color:#f3f4f6">
<div role="article" aria-label="{subject}" style="max-width:560px;margin:0 auto;padding:24px;\
background-color:#ffffff;{body_style}">
<h1 style="font-size:22px;line-height:1.3;margin:0 0 16px">{subject}</h1>
<p style="margin:0 0 16px">{greeting}</p>
<p style="margin:0 0 16px">{body}</p>
{reason}<p style="margin:24px 0"><a href="{url}" style="{button}">{track}</a></p>
<p style="margin:0 0 16px;{small}">{link_hint}<br>\
<a href="{url}" style="{link};word-break:break-all">{url}</a></p>
<p style="margin:0 0 24px">{regards}<br>{team}</p>
<hr style="border:0;border-top:1px solid #d9dde3;margin:0 0 16px">
<p style="margin:0;{small}">{why}{unsubscribe}</p>
</div>
</body>
</html>
"""


def _html(letter: _Letter) -> str:
    e = html.escape
    reason = ""
    if letter.reason:
        label, value = letter.reason
        reason = f'<p style="margin:0 0 16px"><strong>{e(label)}:</strong> {e(value)}</p>\n'
    unsubscribe = ""
    if letter.unsubscribe:
        label, url = letter.unsubscribe
        unsubscribe = f' <a href="{e(url)}" style="{_LINK}">{e(label)}</a>'
    return _PAGE.format(
        lang=e(letter.lang),
        subject=e(letter.subject),
        body_style=_BODY,
        greeting=e(letter.greeting),
        body=e(letter.body),
        reason=reason,
        url=e(letter.tracking_url),
        button=_BUTTON,
        track=e(letter.track),
        small=_SMALL,
        link_hint=e(letter.link_hint),
        link=_LINK,
        regards=e(letter.signature[0]),
        team=e(letter.signature[1]),
        why=e(letter.why),
        unsubscribe=unsubscribe,
    )
