"""status_api's HTTP app: the URL table, the handlers, and init_app()."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from urllib.parse import quote

from aiohttp import web
from pydantic import BaseModel, model_validator
from redis.asyncio import Redis

from shipnotify import web as sweb
from shipnotify.config import Settings
from shipnotify.i18n.labels import FAILURE_LABELS, LANGUAGES, STATUS_LABELS, negotiate
from shipnotify.model import survey
from shipnotify.model.codec import TimelineEntry
from shipnotify.model.status import TERMINAL, Status
from shipnotify.status_api import assets, live, page
from shipnotify.status_api.limits import RateLimit
from shipnotify.status_api.progress import Stage, stages
from shipnotify.status_api.recent import RecentShipments
from shipnotify.store import Shipment, TrackingStore
from shipnotify.store.feedback import FeedbackStore
from shipnotify.web import ApiError, Route, json_response
from shipnotify.web import redis as sredis
from shipnotify.web.cors import origin_of

STORE = web.AppKey("tracking_store", TrackingStore)
LIMIT = web.AppKey("rate_limit", RateLimit)
RECENT = web.AppKey("recent_shipments", RecentShipments)
LIVE_KEEPALIVE_S = web.AppKey("live_keepalive_s", float)
PUSH = web.AppKey("push_offer", page.PushOffer)  # set when a VAPID key is
PAGE_POLICY = web.AppKey("page_policy", str)
SURVEY = web.AppKey("survey_offer", page.SurveyOffer)
FEEDBACK = web.AppKey("feedback_store", FeedbackStore)


class Place(BaseModel):
    depot: str | None = None
    city: str | None = None
    country_code: str | None = None


class TimelineItem(BaseModel):
    status: str
    label: str
    occurred_at: datetime
    recorded_at: datetime
    advanced: bool
    failure: str | None = None
    failure_label: str | None = None
    location: Place | None = None


class Tracking(BaseModel):
    tracking_id: str
    lang: str
    status: str
    label: str
    final: bool
    status_at: datetime
    timeline: list[TimelineItem]
    # The stages of the page's progress bar, from the status and the timeline.
    progress: list[Stage] = []

    @model_validator(mode="after")
    def _with_progress(self) -> Tracking:
        if "progress" not in self.model_fields_set:
            advanced = (Status(i.status) for i in self.timeline if i.advanced)
            self.progress = stages(Status(self.status), advanced, self.lang)
        return self


async def tracking_page(request: web.Request) -> web.Response:
    """The public page: rendered whole on the server, then kept live by its script."""
    await request.app[LIMIT].check(request)
    tracking_id = request.match_info["tracking_id"]
    lang = _language(request)
    shipment = await _shipment(request, tracking_id)
    headers = {
        "Cache-Control": "no-cache",
        "Vary": "Accept-Language",
        "Content-Security-Policy": request.app[PAGE_POLICY],
        "Referrer-Policy": "no-referrer",
    }
    if shipment is None:
        return web.Response(
            text=page.not_found(lang, tracking_id),
            status=404,
            content_type="text/html",
            headers=headers,
        )
    tracking = _tracking(shipment, lang)
    rendered = page.render(
        tracking,
        lang=lang,
        push=request.app.get(PUSH),
        survey_offer=await _asked(request, shipment),
    )
    return web.Response(text=rendered, content_type="text/html", headers=headers)


async def _asked(request: web.Request, shipment: Shipment) -> page.SurveyOffer | None:
    """The page's question (shown once delivered), answered already or not."""
    asked = request.app[SURVEY]
    answered = False
    if shipment.status == Status.DELIVERED:
        sid = shipment.shipment_id
        found = await request.app[FEEDBACK].survey(sid, survey.page_survey_id(sid))
        answered = found is not None and found.answer is not None
    return page.SurveyOffer(
        url=f"{asked.url}/{quote(shipment.tracking_id, safe='')}",
        scale=asked.scale,
        answered=answered,
    )


def page_policy(settings: Settings) -> str:
    """The page's Content-Security-Policy. Everything it needs comes from this origin (its
    service worker too), but the push subscriptions and survey answers it sends to hooks,
    which may be served at another origin; nothing inline runs (its data block is JSON,
    which no policy blocks: it is never executed)."""
    connect = "'self'"
    hooks = origin_of(settings.webhook_url or settings.public_url)
    if hooks != origin_of(settings.public_url):
        connect += " " + hooks
    return (
        "default-src 'none'; style-src 'self'; script-src 'self'; worker-src 'self'; "
        f"connect-src {connect}; img-src 'self' data:; base-uri 'none'; form-action 'none'"
    )


def push_offer(settings: Settings) -> page.PushOffer | None:
    """What the page needs to offer push notices: none without a VAPID key."""
    if not settings.vapid_public_key:
        return None
    hooks = (settings.webhook_url or settings.public_url).rstrip("/")
    return page.PushOffer(key=settings.vapid_public_key, url=hooks + "/v1/push-subscriptions")


# The worker may do nothing but show notices and open pages; it loads nothing.
_WORKER_HEADERS = {
    "Cache-Control": assets.WORKER_CACHE_CONTROL,
    "Service-Worker-Allowed": page.PushOffer.scope,
    "Content-Security-Policy": "default-src 'none'",
}


async def static_file(request: web.Request) -> web.Response:
    """The page's stylesheet or script, by its versioned name, or its service worker;
    never rate-limited (a browser asks once a version, and they are served from memory)."""
    asset = assets.BY_NAME.get(request.match_info["name"])
    if asset is None:
        raise ApiError(404, "not_found", "no static file has this name", {"name": "unknown"})
    headers = _WORKER_HEADERS if asset is assets.WORKER else {"Cache-Control": assets.CACHE_CONTROL}
    return web.Response(
        body=asset.body, content_type=asset.content_type, charset="utf-8", headers=headers
    )


async def track(request: web.Request) -> web.Response:
    await request.app[LIMIT].check(request)
    lang = _language(request)
    shipment = await _shipment(request, request.match_info["tracking_id"])
    if shipment is None:
        raise _not_found()
    etag = f'W/"{shipment.version}-{lang}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache", "Vary": "Accept-Language"}
    if etag in _etags(request.headers.get("If-None-Match")):
        return web.Response(status=304, headers=headers)
    return json_response(_tracking(shipment, lang), headers=headers)


async def track_events(request: web.Request) -> web.StreamResponse:
    await request.app[LIMIT].check(request)
    lang = _language(request)
    store = request.app[STORE]
    shipment_id = await store.shipment_id_for(request.match_info["tracking_id"])
    if shipment_id is None:
        raise _not_found()

    async def snapshot() -> tuple[str, Tracking] | None:
        shipment = await store.shipment(shipment_id)
        return (str(shipment.version), _tracking(shipment, lang)) if shipment else None

    keepalive = request.app[LIVE_KEEPALIVE_S]
    return await live.stream(request, store, shipment_id, snapshot, keepalive)


_LANG = {
    "name": "lang",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": list(LANGUAGES)},
    "description": "Overrides Accept-Language.",
}
_PUBLIC_ERRORS: dict[int, tuple[str, type[BaseModel] | None]] = {
    404: ("unknown tracking id", sweb.ErrorBody),
    429: ("too many requests; see Retry-After", sweb.ErrorBody),
}

ROUTES = [
    Route(
        "GET",
        "/t/{tracking_id}",
        tracking_page,
        "The public tracking page (HTML), the link every notice carries",
        {
            200: ("the page", None),
            404: ("unknown tracking id (an HTML page)", None),
            422: ("unsupported lang", sweb.ErrorBody),
            429: ("too many requests; see Retry-After", sweb.ErrorBody),
        },
        parameters=[_LANG],
        tag="tracking",
    ),
    Route(
        "GET",
        "/static/{name}",
        static_file,
        "The tracking page's stylesheet and script, named by a hash of their content"
        " (`page.<12 hex digits>.css`, `.js`): cached for a year, never revalidated; and its"
        " service worker, `push-worker.js`, under that name always, revalidated, allowed the"
        " scope `/t/` (Service-Worker-Allowed)",
        {
            200: ("the file (text/css or text/javascript)", None),
            404: ("no file has this name (an unknown or an earlier version)", sweb.ErrorBody),
        },
        tag="tracking",
    ),
    Route(
        "GET",
        "/v1/track/{tracking_id}/events",
        track_events,
        "Live updates (server-sent events): the snapshot at each change; resumes from"
        " Last-Event-ID",
        {
            200: ("text/event-stream of `update` events, each a Tracking", None),
            422: ("unsupported lang", sweb.ErrorBody),
            **_PUBLIC_ERRORS,
        },
        parameters=[_LANG],
        tag="tracking",
    ),
    Route(
        "GET",
        "/v1/track/{tracking_id}",
        track,
        "A shipment's current status and timeline, labelled in the caller's language",
        {
            200: ("the shipment", Tracking),
            304: ("unchanged since the ETag given", None),
            422: ("unsupported lang", sweb.ErrorBody),
            **_PUBLIC_ERRORS,
        },
        parameters=[
            _LANG,
            {
                "name": "If-None-Match",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
            },
        ],
        tag="tracking",
    ),
]


def install(
    app: web.Application,
    settings: Settings,
    *,
    redis: Redis | None = None,
    clock: Callable[[], float] = time.time,
) -> None:
    """Adds status_api to an app (its own, or the single app of `shipnotify dev`); `clock`
    tells the rate limit's windows."""
    client = sredis.client_of(app, settings, given=redis)
    app[STORE] = TrackingStore(client)  # it only reads
    app[LIMIT] = RateLimit(client, settings.track_requests_per_minute, clock=clock)
    app[RECENT] = RecentShipments(app[STORE], live.hub(app[STORE]))
    app[LIVE_KEEPALIVE_S] = settings.live_keepalive_s
    if offer := push_offer(settings):
        app[PUSH] = offer
    app[PAGE_POLICY] = page_policy(settings)
    hooks = (settings.webhook_url or settings.public_url).rstrip("/")
    # the question's URL without the tracking id, and the scale
    app[SURVEY] = page.SurveyOffer(url=hooks + "/v1/answers", scale=settings.survey_rules().scale)
    app[FEEDBACK] = FeedbackStore(client, opt_out_secret=b"")  # it reads no hashed address
    sweb.add_routes(app, ROUTES)
    # Redis alone: status_api never uses Kafka, and a broker outage must not take the
    # tracking pages out of service.
    sredis.check_ready(app, client)

    async def forget_recent(app: web.Application) -> AsyncIterator[None]:
        yield
        await app[RECENT].close()

    # cleaned up last first: the recent shipments and the rate limit's flush before Redis
    app.cleanup_ctx.append(app[LIMIT].flushing)
    app.cleanup_ctx.append(forget_recent)


def init_app(
    settings: Settings, *, redis: Redis | None = None, clock: Callable[[], float] = time.time
) -> web.Application:
    app = sweb.new_app(settings.max_body_bytes, trusted_proxies=settings.trusted_proxies)
    install(app, settings, redis=redis, clock=clock)
    return app


async def _shipment(request: web.Request, tracking_id: str) -> Shipment | None:
    shipment_id = await request.app[STORE].shipment_id_for(tracking_id)
    return None if shipment_id is None else await request.app[RECENT].get(shipment_id)


def _not_found() -> ApiError:
    return ApiError(
        404, "not_found", "no shipment has this tracking id", {"tracking_id": "unknown"}
    )


def _language(request: web.Request) -> str:
    lang = request.query.get("lang")
    if lang is None:
        return negotiate(request.headers.get("Accept-Language"))
    if lang not in LANGUAGES:
        raise ApiError(
            422,
            "invalid_field",
            f"lang must be one of {', '.join(LANGUAGES)}",
            {"lang": f"unsupported: {lang[:16]}"},
        )
    return lang


def _etags(header: str | None) -> set[str]:
    return {t.strip() for t in (header or "").split(",") if t.strip()}


def _tracking(shipment: Shipment, lang: str) -> Tracking:
    return Tracking(
        tracking_id=shipment.tracking_id,
        lang=lang,
        status=shipment.status.value,
        label=STATUS_LABELS[lang][shipment.status],
        final=shipment.status in TERMINAL,
        status_at=_time(shipment.status_at_ms),
        timeline=[_item(e, lang) for e in shipment.timeline],
    )


def _item(e: TimelineEntry, lang: str) -> TimelineItem:
    return TimelineItem(
        status=e.status.value,
        label=STATUS_LABELS[lang][e.status],
        occurred_at=_time(e.occurred_at_ms),
        recorded_at=_time(e.recorded_at_ms),
        advanced=e.advanced,
        failure=e.failure.value if e.failure else None,
        failure_label=FAILURE_LABELS[lang][e.failure] if e.failure else None,
        location=Place(**e.location) if e.location else None,
    )


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
