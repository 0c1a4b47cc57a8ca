"""The survey's forms, read without I/O: the landing page's (a score; the follow-up's reason
and comment) and the tracking page's, field by field. A field that is missing or wrong is a
Problem: a text of the catalogs (the page shows it by its field in the reader's language;
a JSON error names the field with the English text)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from shipnotify.hooks import nonces
from shipnotify.i18n import DEFAULT, mark, text
from shipnotify.model import survey
from shipnotify.model import survey_names as names

# A comment is free text: any character but the controls, line breaks and tabs aside.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_WHOLE = re.compile(r"[0-9]{1,3}")


@dataclass(frozen=True)
class Problem:
    message: str  # a message id of the catalogs
    values: Mapping[str, object] = field(default_factory=dict)

    def say(self, lang: str = DEFAULT) -> str:
        return text(lang, self.message).format(**self.values)


Problems = dict[str, Problem]  # by field name


def score_problem(scale: int) -> Problem:
    low, high = survey.RANGES[scale]
    return Problem(mark("landing.error.score"), {"low": low, "high": high})


def read_score(raw: str | None, scale: int) -> int | Problem:
    """A score of the scale, as a form sends it ("4")."""
    if raw is None or not _WHOLE.fullmatch(raw.strip()):
        return score_problem(scale)
    score = int(raw)
    return score if survey.in_scale(scale, score) else score_problem(scale)


def read_reason(raw: str | None) -> int | Problem:
    if raw is None or raw not in names.REASONS:
        return Problem(mark("landing.error.reason"))
    return names.REASONS[raw]


def read_comment(raw: str | None) -> str | Problem:
    """Optional free text of at most MAX_COMMENT characters, a line break counted as one (as
    the browser counts it in the field; a form sends it as CR LF)."""
    comment = (raw or "").replace("\r\n", "\n").strip()
    if len(comment) > survey.MAX_COMMENT or _CONTROL.search(comment):
        return Problem(mark("landing.error.comment"), {"max": survey.MAX_COMMENT})
    return comment


def read_nonce(raw: str | None, secret: str, token: str) -> str | Problem:
    if not raw or not nonces.valid(secret, token, raw):
        return Problem(mark("landing.error.nonce"))
    return raw


@dataclass(frozen=True)
class AnswerForm:
    score: int
    nonce: str


@dataclass(frozen=True)
class FollowUpForm:
    reason: int
    comment: str
    nonce: str


def read_answer(
    form: Mapping[str, str], scale: int, secret: str, token: str
) -> AnswerForm | Problems:
    score = read_score(form.get("score"), scale)
    nonce = read_nonce(form.get("nonce"), secret, token)
    if isinstance(score, Problem) or isinstance(nonce, Problem):
        return _problems(score=score, nonce=nonce)
    return AnswerForm(score, nonce)


def read_follow_up(form: Mapping[str, str], secret: str, token: str) -> FollowUpForm | Problems:
    reason = read_reason(form.get("reason"))
    comment = read_comment(form.get("comment"))
    nonce = read_nonce(form.get("nonce"), secret, token)
    if isinstance(reason, Problem) or isinstance(comment, Problem) or isinstance(nonce, Problem):
        return _problems(reason=reason, comment=comment, nonce=nonce)
    return FollowUpForm(reason, comment, nonce)


def _problems(**fields: object) -> Problems:
    return {name: value for name, value in fields.items() if isinstance(value, Problem)}
