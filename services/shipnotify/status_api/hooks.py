"""The SMS provider's webhooks (delivery receipts, inbound SMS) and the operator's view of
a shipment's notices. Every webhook is signature-checked with the provider's validator."""

from __future__ import annotations

from html import escape
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from twilio.request_validator import RequestValidator

from shipnotify import logs, metrics
from shipnotify.config import Settings
from shipnotify.ingest.auth import check_api_key
from shipnotify.store.notices import NoticeBook
from shipnotify.web import ApiError, json_response

log = logs.get(__name__)

SETTINGS = web.AppKey("hooks_settings", Settings)
BOOK = web.AppKey("notice_book", NoticeBook)

STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "СТОП"}
START_WORDS = {"START", "YES", "UNSTOP"}
HELP_WORDS = {"HELP", "INFO"}
REPLIES = {
    "stop": "You will get no more SMS from us. Reply START to get them again.",
    "start": "You will get SMS about your shipments again. Reply STOP to end them.",
    "help": "Shipment notices. Reply STOP to end them, START to get them again.",
}


_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>{}</Message></Response>'


class Notice(BaseModel):
    notification_id: str
    state: str
    channel: str | None = None
    party: str | None = None
    status: str | None = None
    event_id: str | None = None
    attempts: int = 0
    provider_id: str | None = None
    receipt: str | None = None
    error: str | None = None
    updated_at_ms: int | None = None


class Notices(BaseModel):
    shipment_id: str
    notices: list[Notice]


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
    return web.Response(text=_TWIML.format(escape(reply)), content_type="text/xml")


async def shipment_notices(request: web.Request) -> web.Response:
    check_api_key(request.headers.get("X-Api-Key"), request.app[SETTINGS].api_keys)
    shipment_id = request.match_info["shipment_id"]
    states = await request.app[BOOK].of_shipment(shipment_id)
    notices = [
        _notice(nid, doc) for nid, doc in sorted(states.items(), key=lambda i: i[1].get("t", 0))
    ]
    return json_response(Notices(shipment_id=shipment_id, notices=notices))


def _notice(nid: str, doc: dict[str, Any]) -> Notice:
    return Notice(
        notification_id=nid,
        state=doc.get("s", "?"),
        channel=doc.get("c"),
        party=doc.get("p"),
        status=doc.get("st"),
        event_id=doc.get("ev"),
        attempts=doc.get("n", 0),
        provider_id=doc.get("id"),
        receipt=doc.get("r"),
        error=doc.get("e"),
        updated_at_ms=doc.get("t"),
    )
