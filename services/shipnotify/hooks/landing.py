"""The survey email's landing page: each score's link (`/s/{token}?score=N`) opens the
question with that score chosen and a Send button; only the form's POST records the answer
(mail scanners open every link, so a GET records nothing). An unhappy score is thanked and
asked "What went wrong?" (the six reasons and words), a form of its own.

Pages are rendered on the server from templates/ (Jinja2, autoescaped) in the survey's
language (the catalogs' `landing.*` texts, and the question and reasons every channel
shares: i18n/questions.py; `?lang=` switches), with one stylesheet served
here by a versioned name: nothing inline, nothing from another host, no script. The token
names the survey (signed: model/survey.py, survey_token); each form carries a nonce tied to
the token (nonces.py), which also names the answer's event, and a POST whose Origin is
another site's is refused. A client that does not ask for HTML gets the errors as JSON.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any, cast

from aiohttp import web

from shipnotify import logs
from shipnotify.config import Settings
from shipnotify.hooks import answers, lookups, nonces, survey_forms
from shipnotify.hooks.resources import FEEDBACK, RULES, SETTINGS
from shipnotify.hooks.survey_forms import Problems
from shipnotify.i18n import LANGUAGES, language_for, mark, negotiate, questions, text
from shipnotify.model import feedback_events, survey
from shipnotify.model import survey_names as names
from shipnotify.store.feedback import Survey
from shipnotify.v1 import survey_pb2 as spb
from shipnotify.web import ApiError, Handler, pages, parse_form
from shipnotify.web.cors import origin_of

log = logs.get(__name__)

PATH = "/s/{token}"
FOLLOW_UP_PATH = "/s/{token}/follow-up"
STATIC_PATH = "/s/static/{name}"

_CSS = files("shipnotify.hooks").joinpath("static", "landing.css").read_bytes()
STYLESHEET = f"landing.{hashlib.sha256(_CSS).hexdigest()[:12]}.css"  # a new name a version
_CACHE_FOREVER = "public, max-age=31536000, immutable"

POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';"
    " base-uri 'none'; frame-ancestors 'none'"
)
_PAGE_HEADERS = {
    # A page holds a fresh nonce and its survey's token: kept by nobody, shown anew.
    "Cache-Control": "no-store",
    "Content-Security-Policy": POLICY,
    # The token is in the address: no other site learns it; this site's POSTs still name
    # their Origin (with no-referrer, a browser sends "Origin: null").
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Vary": "Accept, Accept-Language",
}

# A refusal's page, by status: its heading and its words.
_REFUSALS = {
    404: (mark("landing.not_found"), mark("landing.not_found_text")),
    410: (mark("landing.closed"), mark("landing.closed_text")),
    503: (mark("landing.unavailable"), mark("landing.unavailable_text")),
}
_REFUSED = (mark("landing.refused"), mark("landing.refused_text"))
_LANG = web.RequestKey("landing_lang", str)  # the page's language, once known


def token_secret(settings: Settings) -> str:
    """The key of the survey links' tokens and of the forms' nonces: the one the notifier,
    which makes the links, holds too."""
    return settings.opt_out_secret


@dataclass(frozen=True)
class Opened:
    """The survey a genuine token names, taking answers, and the page's language."""

    token: str
    asked: Survey
    scale: int
    lang: str
    chosen_lang: str | None  # ?lang=, when the reader chose one

    @property
    def action(self) -> str:
        return f"/s/{self.token}"


def as_page(handler: Handler) -> Handler:
    """A refusal as a page in the reader's language for a browser; as JSON for others."""

    @functools.wraps(handler)
    async def page(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as e:
            if not _wants_html(request):
                raise
            heading, words = _REFUSALS.get(e.status, _REFUSED)
            lang = request.get(_LANG) or negotiate(request.headers.get("Accept-Language"))
            return _render(
                "message.html",
                lang,
                e.status,
                headers=e.headers,
                heading=text(lang, heading),
                message=text(lang, words),
                thanks=False,
            )

    return page


@as_page
async def survey_page(request: web.Request) -> web.StreamResponse:
    """The question, the link's score chosen. Records nothing."""
    opened = await _open(request)
    chosen = survey_forms.read_score(request.query.get("score"), opened.scale)
    score = chosen if isinstance(chosen, int) else None
    switch = {
        code: "?" + "&".join(([f"score={score}"] if score is not None else []) + [f"lang={code}"])
        for code in LANGUAGES
    }
    return _question(request, opened, 200, chosen=score, errors={}, switch=switch)


@as_page
async def landing_answer(request: web.Request) -> web.StreamResponse:
    form = await parse_form(request)
    opened = await _open(request)
    secret = token_secret(request.app[SETTINGS])
    read = survey_forms.read_answer(form, opened.scale, secret, opened.token)
    if isinstance(read, dict):
        chosen = survey_forms.read_score(form.get("score"), opened.scale)
        return _question(
            request,
            opened,
            422,
            chosen=chosen if isinstance(chosen, int) else None,
            errors=_refused_fields(request, read, opened.lang),
        )
    asked = opened.asked
    unhappy = await answers.record(
        request,
        survey.feedback_event_id("email", opened.token, read.nonce),
        feedback_events.Answer(
            asked.shipment_id, asked.survey_id, opened.scale, read.score, spb.ANSWER_SOURCE_EMAIL
        ),
        datetime.now(UTC),
    )
    if unhappy:
        return _follow_up(request, opened, 200, chosen=None, comment="", errors={})
    return _thanks(opened.lang, mark("landing.thanks"), mark("landing.thanks_text"))


@as_page
async def landing_follow_up(request: web.Request) -> web.StreamResponse:
    form = await parse_form(request)
    opened = await _open(request)
    read = survey_forms.read_follow_up(form, token_secret(request.app[SETTINGS]), opened.token)
    if isinstance(read, dict):
        return _follow_up(
            request,
            opened,
            422,
            chosen=form.get("reason"),
            comment=form.get("comment", "")[: survey.MAX_COMMENT * 2],
            errors=_refused_fields(request, read, opened.lang),
        )
    await answers.record_follow_up(
        request,
        feedback_events.follow_up_id("email", opened.token, read.nonce),
        opened.asked.shipment_id,
        opened.asked.survey_id,
        read.reason,
        read.comment,
        spb.ANSWER_SOURCE_EMAIL,
        datetime.now(UTC),
    )
    return _thanks(
        opened.lang, mark("landing.follow_up_thanks"), mark("landing.follow_up_thanks_text")
    )


async def stylesheet(request: web.Request) -> web.Response:
    if request.match_info["name"] != STYLESHEET:
        raise ApiError(404, "not_found", "no stylesheet has this name", {"name": "unknown"})
    return web.Response(
        body=_CSS,
        content_type="text/css",
        charset="utf-8",
        headers={"Cache-Control": _CACHE_FOREVER, "X-Content-Type-Options": "nosniff"},
    )


# -- the survey and the request ---------------------------------------------------------


async def _open(request: web.Request) -> Opened:
    """The survey the token names (404 for a forged or unknown one), while it takes answers
    (410 after), and the page's language; a POST from another site's page is refused."""
    chosen_lang = request.query.get("lang")
    if chosen_lang is not None and chosen_lang not in LANGUAGES:
        raise ApiError(
            422,
            "invalid_field",
            f"lang must be one of {', '.join(LANGUAGES)}",
            {"lang": f"unsupported: {chosen_lang[:16]}"},
        )
    if chosen_lang:
        request[_LANG] = chosen_lang
    settings = request.app[SETTINGS]
    if request.method == "POST":
        _check_origin(request, settings)
    token = request.match_info["token"]
    named = survey.read_token(token_secret(settings), token)
    asked = None if named is None else await lookups.read(request.app[FEEDBACK].survey(*named))
    if asked is None:
        raise ApiError(404, "not_found", "no survey has this link", {"token": "unknown"})
    lang = chosen_lang or language_for(asked.sent.locale if asked.sent else "")
    request[_LANG] = lang
    if not asked.takes_answers(int(time.time() * 1000), request.app[RULES].answer_days):
        raise ApiError(
            410, "survey_closed", "the survey takes no more answers", {"token": "closed"}
        )
    scale = asked.sent.scale if asked.sent and asked.sent.scale else request.app[RULES].scale
    return Opened(token, asked, scale, lang, chosen_lang)


def _check_origin(request: web.Request, settings: Settings) -> None:
    """A browser names the page a POST comes from: this site's (where hooks is reached, or
    the public address in front of it), or the form is another site's."""
    origin = request.headers.get("Origin")
    ours = {origin_of(settings.webhook_url or settings.public_url), origin_of(settings.public_url)}
    if origin is not None and origin not in ours:
        log.warning("survey form from another site refused", origin=origin[:100])
        raise ApiError(
            403, "forbidden", "the form was sent from another site", {"Origin": "not this site"}
        )


def _wants_html(request: web.Request) -> bool:
    return "text/html" in request.headers.get("Accept", "")


def _refused_fields(request: web.Request, problems: Problems, lang: str) -> dict[str, str]:
    """The page's words for each field at fault; for a client that asked no HTML, a 422."""
    if not _wants_html(request):
        fields = {name: problem.say() for name, problem in problems.items()}
        message = "; ".join(f"{k}: {v}" for k, v in fields.items())
        raise ApiError(422, "invalid_field", message, fields)
    return {name: problem.say(lang) for name, problem in problems.items()}


# -- the pages ------------------------------------------------------------------------------


def _question(
    request: web.Request,
    opened: Opened,
    status: int,
    *,
    chosen: int | None,
    errors: Mapping[str, str],
    switch: Mapping[str, str] | None = None,
) -> web.Response:
    low, high = survey.RANGES[opened.scale]
    lang = opened.lang
    question, low_means, high_means = questions.QUESTION[cast(spb.Scale, opened.scale)]
    return _render(
        "question.html",
        lang,
        status,
        question=text(lang, question),
        low=text(lang, low_means),
        high=text(lang, high_means),
        scores=list(range(low, high + 1)),
        chosen=chosen,
        errors=errors,
        nonce=nonces.make(token_secret(request.app[SETTINGS]), opened.token),
        action=f"{opened.action}?lang={lang}",
        switch=switch,
    )


def _follow_up(
    request: web.Request,
    opened: Opened,
    status: int,
    *,
    chosen: str | None,
    comment: str,
    errors: Mapping[str, str],
) -> web.Response:
    lang = opened.lang
    return _render(
        "follow_up.html",
        lang,
        status,
        reasons=[(name, text(lang, questions.REASON[n])) for name, n in names.REASONS.items()],
        chosen=chosen,
        comment=comment,
        max_comment=survey.MAX_COMMENT,
        errors=errors,
        nonce=nonces.make(token_secret(request.app[SETTINGS]), opened.token),
        action=f"{opened.action}/follow-up?lang={lang}",
    )


def _thanks(lang: str, heading: str, message: str) -> web.Response:
    return _render(
        "message.html",
        lang,
        200,
        heading=text(lang, heading),
        message=text(lang, message),
        thanks=True,
    )


def _render(
    template: str,
    lang: str,
    status: int,
    *,
    headers: Mapping[str, str] | None = None,
    switch: Mapping[str, str] | None = None,
    **context: Any,
) -> web.Response:
    env = pages.environment("shipnotify.hooks", lang)
    body = env.get_template(template).render(
        stylesheet=STATIC_PATH.replace("{name}", STYLESHEET), switch=switch, **context
    )
    return web.Response(
        text=body,
        status=status,
        content_type="text/html",
        headers={**_PAGE_HEADERS, **(headers or {})},
    )
