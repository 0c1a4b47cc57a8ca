"""hooks' HTTP app: the URL table and init_app(). It holds the secrets status_api must not:
the SMS provider's token (to check its signatures), the operators' API keys and the key of
the opt-out hashes."""

from __future__ import annotations

from aiohttp import web
from redis.asyncio import Redis

from shipnotify import web as sweb
from shipnotify.config import Settings
from shipnotify.hooks import notices, sms
from shipnotify.hooks.resources import BOOK, SETTINGS
from shipnotify.store.notices import NoticeBook
from shipnotify.web import Route
from shipnotify.web import redis as sredis

_SIGNED = {403: ("bad X-Twilio-Signature", sweb.ErrorBody), 400: ("not a form", sweb.ErrorBody)}
ROUTES = [
    Route(
        "POST",
        "/v1/twilio/status",
        sms.message_status,
        "Delivery receipt of an SMS (Twilio status callback)",
        {204: ("recorded", None), 422: ("s or n missing", sweb.ErrorBody), **_SIGNED},
        parameters=[
            {
                "name": name,
                "in": "query",
                "required": True,
                "schema": {"type": "string"},
                "description": description,
            }
            for name, description in (("s", "the shipment id"), ("n", "the notification id"))
        ],
        tag="webhooks",
    ),
    Route(
        "POST",
        "/v1/twilio/inbound",
        sms.inbound_sms,
        "Inbound SMS: STOP, START or HELP",
        {200: ("TwiML reply", None), **_SIGNED},
        tag="webhooks",
    ),
    Route(
        "GET",
        "/v1/shipments/{shipment_id}/notices",
        notices.shipment_notices,
        "Operators: a shipment's notices and their states",
        {200: ("the notices", notices.Notices)},
        security="apiKey",
        tag="operations",
    ),
]


def install(app: web.Application, settings: Settings, *, redis: Redis | None = None) -> None:
    """Adds hooks to an app (its own, or the single app of `shipnotify dev`)."""
    settings.require("opt_out_secret")  # STOP and START keep a keyed hash of the number
    client = sredis.client_of(app, settings, given=redis)
    app[SETTINGS] = settings
    app[BOOK] = NoticeBook(
        client, settings.notifications_topic, opt_out_secret=settings.opt_out_secret
    )
    sweb.add_routes(app, ROUTES)
    sredis.check_ready(app, client)


def init_app(settings: Settings, *, redis: Redis | None = None) -> web.Application:
    app = sweb.new_app(settings.max_body_bytes, trusted_proxies=settings.trusted_proxies)
    install(app, settings, redis=redis)
    return app
