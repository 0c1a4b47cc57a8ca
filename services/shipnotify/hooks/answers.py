"""Recording an answer or a follow-up, whichever way it came (an SMS reply, the email's
landing page, the tracking page): the events made (feedback_events.py), appended to the
feedback topic in one call, acknowledged by every replica (503 otherwise)."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from shipnotify import logs
from shipnotify.hooks import lookups
from shipnotify.hooks.resources import FEEDBACK, RULES
from shipnotify.model import feedback_events
from shipnotify.model.feedback_events import Answer
from shipnotify.web import event_log as topics

log = logs.get(__name__)


async def record(request: web.Request, event_id: str, answer: Answer, now: datetime) -> bool:
    """Appends the answer, with the case it opens when unhappy; returns whether it is."""
    rules = request.app[RULES]
    unhappy = rules.is_unhappy(answer.scale, answer.score)
    context = None
    if unhappy:
        context = await lookups.read(request.app[FEEDBACK].shipment_context(answer.shipment_id))
    events = feedback_events.answered(event_id, answer, rules, now, context)
    await topics.append_feedback(request, events)
    log.info(
        "survey answered",
        shipment_id=answer.shipment_id,
        survey_id=answer.survey_id,
        event_id=event_id,
        unhappy=unhappy,
    )
    return unhappy


async def record_follow_up(
    request: web.Request,
    event_id: str,
    shipment_id: str,
    survey_id: str,
    reason: int,
    comment: str,
    source: int,
    now: datetime,
) -> None:
    event = feedback_events.followed_up(
        event_id, shipment_id, survey_id, reason, comment, source, now
    )
    await topics.append_feedback(request, [event])
    log.info("follow-up answered", shipment_id=shipment_id, survey_id=survey_id, event_id=event_id)
