"""The words of the survey loop's notices, in the reader's language: the question after a
delivery, by SMS (one segment in every language and scale; the reply is the score) and by
email (a link per score, the ends labelled with what they mean); the follow-up's "What went
wrong?" by SMS (a reply names a reason by its number, `model.survey.REASONS`' order); the
apology, by SMS and email; and the alert a depot's supervisor reads when an unhappy answer
opened a call-back case.

The words are in the catalogs (`survey.*`, `followup.*`, `apology.*`, `alert.*`, and the
question and reasons every channel shares, `i18n.questions`); the survey and the alert
emails are laid out by templates/survey.* and templates/alert.* (Jinja2, the HTML
autoescaped), the apology by the status emails' own (texts.letter). The scales are the
proto's (`survey_pb2.Scale`), their ranges model.survey.RANGES. The SMS have words of their
own: short, so that the question fits one segment, and in GSM-7 for Romanian.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from babel.dates import format_date, format_time

from shipnotify.i18n import language_for, mark, text
from shipnotify.i18n.labels import FAILURE_LABELS, STATUS_LABELS
from shipnotify.i18n.questions import QUESTION, REASON
from shipnotify.model.quiet import zone_of
from shipnotify.model.status import AttemptFailure, Status
from shipnotify.model.survey import RANGES, REASONS
from shipnotify.notifier.texts import TEMPLATES, Email, check_links, greeting, letter
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import survey_pb2 as spb

CSAT, NPS, CES = spb.SCALE_CSAT, spb.SCALE_NPS, spb.SCALE_CES
K = TypeVar("K", bound=int)  # a proto enum's number

# --- the question --------------------------------------------------------------------------

# "{low}", "{high}": the scale's range. One segment, so the reply is one tap away.
_SURVEY_SMS: Mapping[int, str] = {
    CSAT: mark("survey.sms.csat"),
    NPS: mark("survey.sms.nps"),
    CES: mark("survey.sms.ces"),
}


def scale_range(scale: int) -> tuple[int, int]:
    """The lowest and highest score; ValueError for a scale this build does not know."""
    try:
        return RANGES[scale]
    except KeyError:
        raise ValueError(f"no survey scale numbered {scale}") from None


def survey_sms(lang: str, scale: int) -> str:
    low, high = scale_range(scale)
    return text(language_for(lang), _SURVEY_SMS[scale]).format(low=low, high=high)


@dataclass(frozen=True)
class Choice:
    """A score's link in the survey email."""

    score: int
    label: str | None  # what it means: the ends of the scale
    url: str


@dataclass(frozen=True)
class _Survey:
    """One survey email's words, looked up: what both templates render."""

    lang: str
    subject: str
    greeting: str
    intro: str
    question: str
    choices: list[Choice]
    confirm: str
    regards: str
    signature: str
    why: str


def survey_email(
    lang: str, scale: spb.Scale, *, links: Mapping[int, str], name: str | None = None
) -> Email:
    """The question by email: a link per score of the scale (`links`: score -> URL, every
    score of the scale), each opening the landing page with that score chosen; the page's
    POST records it, never the visit (mail scanners open every link)."""
    low, high = scale_range(scale)
    if sorted(links) != list(range(low, high + 1)):
        raise ValueError(f"a survey email needs a link for each score from {low} to {high}")
    check_links(*links.values())
    lang = language_for(lang)
    question, low_means, high_means = (text(lang, key) for key in QUESTION[scale])
    labels = {low: low_means, high: high_means}  # the ends; the middle speaks for itself
    words = _Survey(
        lang=lang,
        subject=text(lang, mark("survey.email.subject")),
        greeting=greeting(lang, name),
        intro=text(lang, mark("survey.email.intro")),
        question=question,
        choices=[Choice(score, labels.get(score), links[score]) for score in range(low, high + 1)],
        confirm=text(lang, mark("survey.email.confirm")),
        regards=text(lang, mark("email.regards")),
        signature=text(lang, mark("email.team")),
        why=text(lang, mark("email.why")),
    )
    return _render("survey", words, words.subject)


# --- after an unhappy answer -------------------------------------------------------------

# Short, for the SMS: "1 late, 2 not kept informed, ...", numbered in REASONS' order.
_REASON_WORDS: Mapping[int, str] = {
    spb.REASON_LATE: mark("followup.reason.late"),
    spb.REASON_NOT_INFORMED: mark("followup.reason.not_informed"),
    spb.REASON_DAMAGED: mark("followup.reason.damaged"),
    spb.REASON_COURIER_MANNER: mark("followup.reason.courier_manner"),
    spb.REASON_MISSED_DELIVERY: mark("followup.reason.missed_delivery"),
    spb.REASON_OTHER: mark("followup.reason.other"),
}


def follow_up_sms(lang: str) -> str:
    """ "What went wrong?", each reason with the number a reply names it by."""
    lang = language_for(lang)
    choices = ", ".join(f"{n} {text(lang, _REASON_WORDS[r])}" for n, r in enumerate(REASONS, 1))
    return text(lang, mark("followup.sms")).format(choices=choices)  # "{choices}"


def apology_sms(lang: str) -> str:
    return text(language_for(lang), mark("apology.sms"))


def apology_email(lang: str, *, tracking_url: str, name: str | None = None) -> Email:
    lang = language_for(lang)
    subject = text(lang, mark("apology.email.subject"))
    body = text(lang, mark("apology.email.body"))
    return letter(lang, subject, body, tracking_url=tracking_url, name=name)


# --- the supervisor's alert ----------------------------------------------------------------

_SCALE_NAMES: Mapping[int, str] = {
    CSAT: mark("alert.scale.csat"),
    NPS: mark("alert.scale.nps"),
    CES: mark("alert.scale.ces"),
}
_SOURCES: Mapping[int, str] = {
    spb.ANSWER_SOURCE_SMS: mark("alert.source.sms"),
    spb.ANSWER_SOURCE_EMAIL: mark("alert.source.email"),
    spb.ANSWER_SOURCE_PAGE: mark("alert.source.page"),
}
_PARTIES: Mapping[int, str] = {
    npb.PARTY_ROLE_SENDER: mark("alert.party.sender"),
    npb.PARTY_ROLE_RECIPIENT: mark("alert.party.recipient"),
}


@dataclass(frozen=True)
class Row:
    label: str
    value: str


@dataclass(frozen=True)
class Step:
    """One entry of the shipment's timeline, as the alert lists it."""

    when: str
    status: str
    detail: str  # the depot, the failure of an attempt; "" for none


@dataclass(frozen=True)
class _Alert:
    lang: str
    subject: str
    intro: str
    rows: list[Row]
    timeline_title: str
    timeline: list[Step]
    track: str
    tracking_url: str
    why: str


def case_alert_email(
    lang: str, alert: npb.CaseAlert, *, time_zone: str, tracking_url: str
) -> Email:
    """What a depot's supervisor reads when an unhappy answer opened a call-back case: the
    answer, whom to call, by when (in `time_zone`, the depot's) and the shipment's
    timeline, its statuses named as the status emails name them."""
    check_links(tracking_url)
    lang = language_for(lang)
    low, high = scale_range(alert.scale)
    due = _when(lang, alert.due_at.ToDatetime(UTC), time_zone)
    said = text(lang, mark("alert.not_said"))

    def named(names: Mapping[K, str], number: K) -> str:
        return text(lang, names[number]) if number in names else said

    # "{score}", "{low}", "{high}", "{scale}"
    answer = text(lang, mark("alert.answer_value")).format(
        score=alert.score, low=low, high=high, scale=named(_SCALE_NAMES, alert.scale)
    )
    rows = [
        (mark("alert.case"), alert.case_id),
        (mark("alert.due"), f"{due} ({zone_of(time_zone).key})"),
        (mark("alert.depot"), alert.depot or said),
        (mark("alert.courier"), alert.courier_id or said),
        (mark("alert.answer"), answer),
        (mark("alert.what_went_wrong"), named(REASON, alert.reason)),
        (mark("alert.comment"), alert.comment or said),
        (mark("alert.answered_by"), named(_SOURCES, alert.source)),
        (mark("alert.who"), named(_PARTIES, alert.party)),
        (mark("alert.customer"), alert.customer_name or said),
        (mark("alert.phone"), alert.customer_phone or said),
        (mark("alert.email"), alert.customer_email or said),
    ]
    words = _Alert(
        lang=lang,
        subject=text(lang, mark("alert.subject")).format(due=due, score=alert.score, high=high),
        intro=text(lang, mark("alert.intro")),
        rows=[Row(text(lang, label), value) for label, value in rows],
        timeline_title=text(lang, mark("alert.timeline")),
        timeline=[_step(lang, entry, time_zone) for entry in alert.timeline],
        track=text(lang, mark("alert.track")),
        tracking_url=tracking_url,
        why=text(lang, mark("alert.why")),
    )
    return _render("alert", words, words.subject)


def _step(lang: str, entry: npb.TimelineEntry, time_zone: str) -> Step:
    failure = AttemptFailure.from_proto(entry.failure)
    detail = [entry.depot] if entry.depot else []
    if failure is not None:
        detail.append(FAILURE_LABELS[lang][failure])
    return Step(
        when=_when(lang, entry.occurred_at.ToDatetime(UTC), time_zone),
        status=STATUS_LABELS[lang][Status.from_proto(entry.status)],
        detail=" · ".join(detail),
    )


def _when(lang: str, at: datetime, time_zone: str) -> str:
    """A moment as the reader in `time_zone` reads it: "Mar 10, 2026, 6:00 PM"."""
    local = at.astimezone(zone_of(time_zone))
    day, time = format_date(local, "medium", locale=lang), format_time(local, "short", locale=lang)
    return f"{day}, {time}"


def _render(template: str, words: object, subject: str) -> Email:
    values = vars(words)
    return Email(
        subject=subject,
        text=TEMPLATES.get_template(f"{template}.txt").render(values),
        html=TEMPLATES.get_template(f"{template}.html").render(values),
    )
