"""console's HTTP app: the URL table and init_app(). It reads the per-day figures and the
call-back cases and keeps its sessions in Redis; it appends the operators' changes of a case
to the feedback topic."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel
from redis.asyncio import Redis

from shipnotify import web as sweb
from shipnotify.config import Settings
from shipnotify.console import (
    case_forms,
    cases,
    kpis,
    links,
    notices,
    pages,
    portal,
    shipments,
    sign_in,
    view,
)
from shipnotify.console.resources import (
    DAYS,
    FEEDBACK,
    FIGURES,
    REDIS,
    SESSIONS,
    SETTINGS,
    TRACKING,
    ZONE,
)
from shipnotify.console.sessions import Sessions
from shipnotify.model.quiet import zone_of
from shipnotify.store import TrackingStore, survey_days
from shipnotify.store.day_figures import DayFigures
from shipnotify.store.feedback import FeedbackStore
from shipnotify.store.survey_days import SurveyDays
from shipnotify.web import Route
from shipnotify.web import event_log as events_topic
from shipnotify.web import redis as sredis
from shipnotify.web.event_log import EventLog

_PAGE: dict[int, tuple[str, type[BaseModel] | None]] = {
    200: ("the page (HTML)", None),
    303: ("not signed in: to the sign-in page", None),
}
_PERIOD = [
    {"name": name, "in": "query", "required": False, "schema": {"type": "string"}, "description": d}
    for name, d in (
        ("from", "the period's first day (YYYY-MM-DD; by default 29 days before `to`)"),
        ("to", "its last day (YYYY-MM-DD; by default today, in the carrier's time zone)"),
        ("account", "the operator's choice of one account's figures; a team member's own"),
        ("scale", "csat, nps or ces (the satisfaction page; csat by default)"),
        ("lang", "en, ru or ro; by default the browser's"),
    )
]
_CASE_FORM: dict[int, tuple[str, type[BaseModel] | None]] = {
    303: (
        "appended to the feedback topic: to the case's page (once the tracker applied it, or"
        " after 3 s saying it is not yet)",
        None,
    ),
    403: ("a stale form (not the session's token)", None),
    404: ("no such case, or another account's", None),
    409: ("the case is closed: its page saying so", None),
    422: ("a bad field: the case's page naming it", None),
    503: ("Kafka did not acknowledge: nothing recorded; the page saying so", None),
}
ROUTES = [
    *notices.ROUTES,
    Route(
        "GET",
        pages.OVERVIEW,
        pages.overview,
        "Console: the overview",
        _PAGE,
        parameters=_PERIOD,
        tag="console",
    ),
    Route(
        "GET",
        pages.SATISFACTION,
        pages.satisfaction,
        "Console: satisfaction by weekday and hour, depot, courier, channel and party; the"
        " pain map; the trend (`csv=<table>`: a table as CSV)",
        {**_PAGE, 404: ("no such table for csv", None)},
        parameters=[
            *_PERIOD,
            {
                "name": "csv",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "enum": list(pages.CSV_TABLES)},
                "description": "a table as CSV",
            },
        ],
        tag="console",
    ),
    Route(
        "GET",
        pages.CASES,
        cases.case_list,
        "Console: the call-back cases, soonest due first (closed ones: latest closed first)",
        _PAGE,
        parameters=[
            {"name": name, "in": "query", "required": False, "schema": schema, "description": d}
            for name, schema, d in (
                (
                    "state",
                    {"type": "string", "enum": list(cases.STATES)},
                    "open (open or in progress; the default), overdue or closed",
                ),
                ("depot", {"type": "string"}, "one depot's cases"),
                ("courier", {"type": "string"}, "one courier's cases"),
                ("lang", {"type": "string"}, "en, ru or ro; by default the browser's"),
            )
        ],
        tag="console",
    ),
    Route(
        "GET",
        cases.CASE_PATH,
        cases.case_page,
        "Console: a case, with its shipment's timeline, whom to call (the operator only) and"
        " the forms that take, note and close it",
        {**_PAGE, 404: ("no such case, or another account's", None)},
        tag="console",
    ),
    *(
        Route(
            "POST",
            cases.CASE_PATH + "/" + action,
            handler,
            summary,
            _CASE_FORM,
            tag="console",
        )
        for action, handler, summary in (
            ("take", case_forms.take, "Console: an operator takes the case (a form)"),
            ("note", case_forms.note, "Console: a note on the case (a form)"),
            ("close", case_forms.close, "Console: the case closed, its outcome and cause (a form)"),
        )
    ),
    *portal.ROUTES,
    *shipments.ROUTES,
    Route(
        "GET",
        sign_in.PATH,
        sign_in.form,
        "Console: the sign-in form",
        {200: ("the form", None)},
        tag="console",
    ),
    Route(
        "POST",
        sign_in.PATH,
        sign_in.submit,
        "Console: sign in with the operator key (a form, with the token of the form's cookie)",
        {
            303: ("signed in", None),
            401: ("a wrong key: the form again", None),
            403: ("a stale form", None),
        },
        tag="console",
    ),
    Route(
        "POST",
        links.ASK_PATH,
        links.ask,
        "Console: a team member asks for a sign-in link (the account's id and their address;"
        " the same answer whether or not one is sent)",
        {
            200: ("the answer (HTML)", None),
            403: ("a stale form", None),
            422: ("an account id or an address that cannot be one", None),
        },
        tag="console",
    ),
    Route(
        "GET",
        links.LINK_PATH,
        links.opened,
        "Console: an emailed link's page (its button signs in)",
        {200: ("the page", None), 410: ("used, expired or unknown", None)},
        tag="console",
    ),
    Route(
        "POST",
        links.LINK_PATH,
        links.use,
        "Console: use up an emailed link and sign in",
        {
            303: ("signed in: to the overview", None),
            403: ("a stale form", None),
            410: ("used, expired or unknown", None),
        },
        tag="console",
    ),
    Route(
        "POST",
        sign_in.OUT_PATH,
        sign_in.sign_out,
        "Console: sign out",
        {303: ("signed out", None), 403: ("a stale form", None)},
        tag="console",
    ),
    Route(
        "GET",
        view.STATIC_PATH,
        view.stylesheet,
        "Console: the stylesheet, by its versioned name",
        {200: ("CSS", None), 404: ("no such file", None)},
        tag="console",
    ),
]


def install(
    app: web.Application,
    settings: Settings,
    *,
    redis: Redis | None = None,
    event_log: EventLog | None = None,
) -> None:
    """Adds the console to an app (its own, or the single app of `shipnotify dev`, where it
    shares the others' event log). Ready while Redis answers and Kafka is connected."""
    settings.require("api_keys")  # the operator's key: nobody could sign in without one
    client = sredis.client_of(app, settings, given=redis)
    zone = zone_of(settings.time_zone)
    app[SETTINGS] = settings
    app[SESSIONS] = Sessions(client, lifetime_s=settings.console_session_s)
    app[ZONE] = zone
    app[DAYS] = SurveyDays(client, zone, keep_days=settings.figures_days)
    app[FIGURES] = DayFigures(client, zone, keep_days=settings.figures_days)
    app[FEEDBACK] = FeedbackStore(
        client, settings.opt_out_secret.encode(), keep_days=settings.retention_days
    )
    app[TRACKING] = TrackingStore(client)
    app[REDIS] = client
    notices.install(app, settings)
    events_topic.install(app, settings, given=event_log)
    sweb.add_routes(app, ROUTES)
    sredis.check_ready(app, client)
    app.on_startup.append(view.warm)
    kpis.install(app, app[DAYS], lambda: survey_days.today(zone), figures=app[FIGURES])


def init_app(
    settings: Settings, *, redis: Redis | None = None, event_log: EventLog | None = None
) -> web.Application:
    app = sweb.new_app(settings.max_body_bytes, trusted_proxies=settings.trusted_proxies)
    install(app, settings, redis=redis, event_log=event_log)
    return app
