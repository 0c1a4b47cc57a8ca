"""An SMS reply to a survey, decided without I/O: what it records (a score, or the answer to
"What went wrong?") and what hooks says back.

- The survey has an unhappy answer and no follow-up yet: the reply is the follow-up (a
  reason by its number, or words), thanked.
- Else a score ("4", "4 thanks", "I'd say 2"): a happy one is thanked; an unhappy one gets
  no reply here (the tracker's feedback consumer plans the follow-up question and the
  apology, each an SMS of its own).
- Else the reply cannot be read: the help text ("a number from 1 to 5"), once per survey
  (hooks claims it in Redis), nothing after that.

STOP, START and HELP are read before any of this (sms.py), so STOP during a survey opts out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shipnotify.i18n import mark
from shipnotify.model import survey
from shipnotify.store.feedback import Survey

Say = Literal["thanks", "follow_up_thanks", "help", "nothing"]
# The replies' texts, in the survey's language.
TEXTS = {
    "thanks": mark("reply.survey_thanks"),
    "follow_up_thanks": mark("reply.survey_follow_up_thanks"),
    "help": mark("reply.survey_help"),
}


@dataclass(frozen=True)
class Decision:
    say: Say
    score: int | None = None  # a SurveyAnswered with this score
    unhappy: bool = False
    follow_up: tuple[int, str] | None = None  # a FollowUpAnswered: (Reason, comment)


def scale_of(asked: Survey, rules: survey.Rules) -> int:
    """The scale the survey asked on (the rules' when the record does not say)."""
    return asked.sent.scale if asked.sent is not None and asked.sent.scale else rules.scale


def awaits_follow_up(asked: Survey) -> bool:
    return asked.answer is not None and asked.answer.unhappy and asked.follow_up is None


def decide(text: str, asked: Survey, rules: survey.Rules) -> Decision:
    if awaits_follow_up(asked):
        return Decision("follow_up_thanks", follow_up=survey.read_reason(text))
    scale = scale_of(asked, rules)
    score = survey.read_score(text, scale)
    if score is None:
        return Decision("help")
    unhappy = rules.is_unhappy(scale, score)
    return Decision("nothing" if unhappy else "thanks", score=score, unhappy=unhappy)
