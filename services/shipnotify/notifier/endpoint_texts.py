"""The words of the email that tells an account's team its webhook endpoint was disabled
after failing for days in a row: which endpoint (its id, URL and description), why, since
when (in the reader's time zone), and how to have its kept messages sent again. The words
are in the catalogs (`endpoint.*`, and the status emails' greeting and regards); the email
is laid out by templates/endpoint_disabled.* (Jinja2, the HTML autoescaped), in the status
emails' frame."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, format_timedelta

from shipnotify.i18n import language_for, mark, text
from shipnotify.model.quiet import zone_of
from shipnotify.notifier.survey_texts import Row
from shipnotify.notifier.texts import TEMPLATES, Email, greeting
from shipnotify.v1 import notifications_pb2 as npb


@dataclass(frozen=True)
class _Disabled:
    """One email's words, looked up: what both templates render."""

    lang: str
    subject: str
    greeting: str
    intro: str
    rows: list[Row]
    next_steps: str
    regards: str
    signature: str
    why: str


def endpoint_disabled_email(
    lang: str, alert: npb.EndpointAlert, *, time_zone: str, name: str | None = None
) -> Email:
    """What a team member reads: the endpoint, why it was disabled and since when it has
    been failing, its times in `time_zone` (the member's)."""
    lang = language_for(lang)
    zone = zone_of(time_zone)
    since = alert.failing_since.ToDatetime(UTC)
    disabled = alert.disabled_at.ToDatetime(UTC)
    reason = alert.reason
    if alert.HasField("failing_since"):  # "5 days" as the reader's language says it
        duration = format_timedelta(disabled - since, granularity="day", locale=lang)
        reason = text(lang, mark("endpoint.reason.failing")).format(duration=duration)
    account = alert.account_name or alert.account_id
    rows = [
        (mark("endpoint.account"), account),
        (mark("endpoint.endpoint"), alert.endpoint_id),
        (mark("endpoint.url"), alert.url),
        (mark("endpoint.description"), alert.description),
        (mark("endpoint.reason"), reason),
        (mark("endpoint.failing_since"), f"{_when(lang, since, zone)} ({zone.key})"),
        (mark("endpoint.disabled_at"), f"{_when(lang, disabled, zone)} ({zone.key})"),
    ]
    words = _Disabled(
        lang=lang,
        subject=text(lang, mark("endpoint.subject")).format(url=alert.url),  # "{url}"
        greeting=greeting(lang, name),
        intro=text(lang, mark("endpoint.intro")),
        rows=[Row(text(lang, label), value) for label, value in rows if value],
        next_steps=text(lang, mark("endpoint.next")),
        regards=text(lang, mark("email.regards")),
        signature=text(lang, mark("email.team")),
        why=text(lang, mark("endpoint.why")),
    )
    values = vars(words)
    return Email(
        subject=words.subject,
        text=TEMPLATES.get_template("endpoint_disabled.txt").render(values),
        html=TEMPLATES.get_template("endpoint_disabled.html").render(values),
    )


def _when(lang: str, at: datetime, zone: ZoneInfo) -> str:
    local = at.astimezone(zone)
    day, time = format_date(local, "medium", locale=lang), format_time(local, "short", locale=lang)
    return f"{day}, {time}"
