"""The SMS provider's webhooks: delivery receipts and inbound SMS (STOP, START, HELP, and
the replies to a survey: survey_reply.py). Every one is signature-checked with the
provider's own validator."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from html import escape

from aiohttp import web
from twilio.request_validator import RequestValidator

from shipnotify import logs, metrics
from shipnotify.hooks import answers, lookups, survey_reply
from shipnotify.hooks.resources import BOOK, FAILURES, FEEDBACK, HELP, RULES, SETTINGS
from shipnotify.i18n import DEFAULT, language_for, mark, text
from shipnotify.model import feedback_events, survey
from shipnotify.model.sent_again import FAILED
from shipnotify.store.feedback import Survey
from shipnotify.v1 import survey_pb2 as spb
from shipnotify.web import ApiError, parse_form
from shipnotify.web import event_log as topics

log = logs.get(__name__)


# The receipts that end an SMS's delivery: delivered, or not (the book's states).
FINAL_RECEIPTS = frozenset({"delivered", "undelivered", "failed"})
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "СТОП"}
START_WORDS = {"START", "YES", "UNSTOP"}
HELP_WORDS = {"HELP", "INFO"}
# The replies' texts, in English: an inbound SMS says nothing of its sender's language (a
# reply to a survey is answered in the survey's: survey_reply.TEXTS).
REPLIES = {"stop": mark("reply.stop"), "start": mark("reply.start"), "help": mark("reply.help")}


_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>{}</Message></Response>'
_NO_REPLY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


async def _signed_form(request: web.Request) -> dict[str, str]:
    settings = request.app[SETTINGS]
    form = await parse_form(request)
    base = (settings.webhook_url or settings.public_url).rstrip("/")
    signature = request.headers.get("X-Twilio-Signature", "")
    valid = bool(settings.twilio_auth_token) and RequestValidator(
        settings.twilio_auth_token
    ).validate(base + request.path_qs, form, signature)
    if not valid:
        log.warning(
            "webhook with a bad signature refused", path=request.path, client=request.remote
        )
        raise ApiError(
            403, "forbidden", "bad or missing X-Twilio-Signature", {"X-Twilio-Signature": "invalid"}
        )
    return form


async def message_status(request: web.Request) -> web.Response:
    form = await _signed_form(request)
    shipment_id, nid = request.query.get("s", ""), request.query.get("n", "")
    if not shipment_id or not nid:
        raise ApiError(422, "invalid_field", "s and n are required", {"s": "required"})
    status = form.get("MessageStatus", "")
    state = await request.app[BOOK].receipt(shipment_id, nid, status, form.get("ErrorCode"))
    if state is not None:  # a status the book knows: a bounded label
        metrics.RECEIPTS.labels(status).inc()
    if state in FAILED:  # the receipt made it so: on the console's failed notices' list
        await request.app[FAILURES].add(shipment_id, nid)
    if state in FINAL_RECEIPTS:  # as the notice now stands: a later receipt replaces it
        delivered, now = state == "delivered", datetime.now(UTC)
        receipt = feedback_events.receipt(
            shipment_id, nid, planned_ms=_planned(request), delivered=delivered, now=now
        )
        await topics.append_feedback(request, [receipt])  # for its day's figures
    log.info(
        "delivery receipt",
        shipment_id=shipment_id,
        notification_id=nid,
        provider_status=form.get("MessageStatus"),
        state=state,
    )
    return web.Response(status=204)


def _planned(request: web.Request) -> int:
    """When the SMS was planned (the callback's `p`), so its receipt counts on that day;
    a callback made before it had one: now."""
    planned = request.query.get("p", "")
    return int(planned) if planned.isdigit() else int(time.time() * 1000)


async def inbound_sms(request: web.Request) -> web.Response:
    form = await _signed_form(request)
    body, phone = form.get("Body", ""), form.get("From", "")
    word = body.strip().upper()
    book = request.app[BOOK]
    if word in STOP_WORDS:  # before anything else: STOP during a survey still opts out
        await book.opt_out(phone)
        reply: str | None = text(DEFAULT, REPLIES["stop"])
    elif word in START_WORDS:
        await book.opt_in(phone)
        reply = text(DEFAULT, REPLIES["start"])
    elif word in HELP_WORDS:
        reply = text(DEFAULT, REPLIES["help"])
    elif (asked := await _survey_of(request, phone)) is not None:
        reply = await _survey_reply(request, form, body, asked)
    else:  # no survey awaits a reply from this number
        reply = text(DEFAULT, REPLIES["help"])
    log.info("inbound sms", keyword=word if word in STOP_WORDS | START_WORDS else "other")
    return twiml(reply)


def twiml(reply: str | None) -> web.Response:
    """The provider's instructions: send `reply` back, or nothing."""
    answer = _NO_REPLY if reply is None else _TWIML.format(escape(reply))
    return web.Response(text=answer, content_type="text/xml")


async def _survey_of(request: web.Request, phone: str) -> Survey | None:
    return await lookups.read(request.app[FEEDBACK].survey_by_phone(phone)) if phone else None


async def _survey_reply(
    request: web.Request, form: dict[str, str], body: str, asked: Survey
) -> str | None:
    """Records what a reply to a survey says, and what to say back (None: nothing)."""
    message_id = form.get("MessageSid", "")
    if not message_id:  # the provider always names its message: the events' ids need it
        raise ApiError(422, "invalid_field", "MessageSid is required", {"MessageSid": "required"})
    rules = request.app[RULES]
    decision = survey_reply.decide(body, asked, rules)
    now = datetime.now(UTC)
    if decision.follow_up is not None:
        reason, comment = decision.follow_up
        await answers.record_follow_up(
            request,
            feedback_events.follow_up_id("sms", message_id),
            asked.shipment_id,
            asked.survey_id,
            reason,
            comment,
            spb.ANSWER_SOURCE_SMS,
            now,
        )
    elif decision.score is not None:
        answer = feedback_events.Answer(
            asked.shipment_id,
            asked.survey_id,
            survey_reply.scale_of(asked, rules),
            decision.score,
            spb.ANSWER_SOURCE_SMS,
        )
        await answers.record(request, survey.feedback_event_id("sms", message_id), answer, now)
    elif not await _first_help(request, asked):
        decision = replace(decision, say="nothing")  # it had its help reply
    log.info("survey reply", survey_id=asked.survey_id, reply=decision.say)
    if decision.say == "nothing":
        return None
    lang = language_for(asked.sent.locale if asked.sent else "")
    low, high = survey.RANGES[survey_reply.scale_of(asked, rules)]
    return text(lang, survey_reply.TEXTS[decision.say]).format(low=low, high=high)


async def _first_help(request: web.Request, asked: Survey) -> bool:
    """Claims the survey's one help reply, for the rest of its window."""
    answer_days = request.app[RULES].answer_days
    started = asked.sent_at_ms if asked.sent_at_ms is not None else int(time.time() * 1000)
    left_ms = started + answer_days * 86_400_000 - int(time.time() * 1000)
    return await lookups.read(request.app[HELP].first(asked.survey_id, left_ms))
