"""hooks' HTTP app: the URL table and init_app(). It holds the secrets status_api must not:
the SMS provider's token (to check its signatures), the operators' API keys and the key of
the opt-out hashes; and it appends what comes back from the tracking page (push
subscriptions) to the events topic."""

from __future__ import annotations

from aiohttp import web
from redis.asyncio import Redis

from shipnotify import web as sweb
from shipnotify.config import Settings
from shipnotify.hooks import notices, push, sms
from shipnotify.hooks.resources import BOOK, SETTINGS, TRACKING
from shipnotify.store import TrackingStore
from shipnotify.store.notices import NoticeBook
from shipnotify.web import Route, cors
from shipnotify.web import event_log as events_topic
from shipnotify.web import redis as sredis
from shipnotify.web.event_log import EventLog

_UNAVAILABLE = (
    "Kafka did not acknowledge, or Redis did not answer: nothing appended; retry after Retry-After",
    sweb.ErrorBody,
)
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
    Route(
        "POST",
        push.PATH,
        push.subscribe,
        "The tracking page: this browser subscribed to hear of the shipment by Web Push",
        {
            202: ("appended to the events topic", push.PushRecorded),
            404: ("no shipment has this tracking id", sweb.ErrorBody),
            503: _UNAVAILABLE,
        },
        body=push.PushSubscribe,
        tag="push",
    ),
    Route(
        "DELETE",
        push.PATH,
        push.unsubscribe,
        "The tracking page: this browser no longer wants the shipment's push notices",
        {
            202: ("appended to the events topic", push.PushRecorded),
            404: ("no shipment has this tracking id", sweb.ErrorBody),
            503: _UNAVAILABLE,
        },
        body=push.PushUnsubscribe,
        tag="push",
    ),
    Route(
        "OPTIONS",
        push.PATH,
        cors.preflight,
        "CORS preflight: the tracking page's origin (SHIPNOTIFY_PUBLIC_URL) may POST and"
        " DELETE with a JSON body; no other origin may",
        {
            204: ("allowed: the Access-Control-Allow-* headers", None),
            403: ("another origin, method or header", sweb.ErrorBody),
        },
        tag="push",
    ),
]


def install(
    app: web.Application,
    settings: Settings,
    *,
    redis: Redis | None = None,
    event_log: EventLog | None = None,
) -> None:
    """Adds hooks to an app (its own, or the single app of `shipnotify dev`, where it shares
    ingest's event log). Ready while Redis answers and Kafka is connected."""
    settings.require("opt_out_secret")  # STOP and START keep a keyed hash of the number
    client = sredis.client_of(app, settings, given=redis)
    app[SETTINGS] = settings
    app[BOOK] = NoticeBook(
        client, settings.notifications_topic, opt_out_secret=settings.opt_out_secret
    )
    app[TRACKING] = TrackingStore(client)
    events_topic.install(app, settings, given=event_log)
    sweb.add_routes(app, ROUTES)
    cors.allow(
        app,
        cors.CorsRule(cors.origin_of(settings.public_url), methods=("POST", "DELETE")),
        [push.PATH],
    )
    sredis.check_ready(app, client)


def init_app(
    settings: Settings, *, redis: Redis | None = None, event_log: EventLog | None = None
) -> web.Application:
    app = sweb.new_app(settings.max_body_bytes, trusted_proxies=settings.trusted_proxies)
    install(app, settings, redis=redis, event_log=event_log)
    return app
