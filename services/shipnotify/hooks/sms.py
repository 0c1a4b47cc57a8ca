"""The SMS provider's webhooks: delivery receipts and inbound SMS (STOP, START, HELP).
Every one is signature-checked with the provider's own validator."""

from __future__ import annotations

from html import escape

from aiohttp import web
from twilio.request_validator import RequestValidator

from shipnotify import logs, metrics
from shipnotify.hooks.resources import BOOK, SETTINGS
from shipnotify.i18n import DEFAULT, mark, text
from shipnotify.web import ApiError

log = logs.get(__name__)


STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "СТОП"}
START_WORDS = {"START", "YES", "UNSTOP"}
HELP_WORDS = {"HELP", "INFO"}
# The replies' texts, in English: an inbound SMS says nothing of its sender's language.
REPLIES = {"stop": mark("reply.stop"), "start": mark("reply.start"), "help": mark("reply.help")}


_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>{}</Message></Response>'


async def _signed_form(request: web.Request) -> dict[str, str]:
    settings = request.app[SETTINGS]
    try:
        form = {k: str(v) for k, v in (await request.post()).items()}
    except ValueError as e:  # a malformed form body (e.g. multipart without a boundary)
        raise ApiError(400, "invalid_body", "the body is not a form", {"body": str(e)}) from None
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
    log.info(
        "delivery receipt",
        shipment_id=shipment_id,
        notification_id=nid,
        provider_status=form.get("MessageStatus"),
        state=state,
    )
    return web.Response(status=204)


async def inbound_sms(request: web.Request) -> web.Response:
    form = await _signed_form(request)
    word, phone = form.get("Body", "").strip().upper(), form.get("From", "")
    book = request.app[BOOK]
    if word in STOP_WORDS:
        await book.opt_out(phone)
        reply = REPLIES["stop"]
    elif word in START_WORDS:
        await book.opt_in(phone)
        reply = REPLIES["start"]
    else:
        reply = REPLIES["help"]
    log.info("inbound sms", keyword=word if word in STOP_WORDS | START_WORDS else "other")
    return web.Response(text=_TWIML.format(escape(text(DEFAULT, reply))), content_type="text/xml")
