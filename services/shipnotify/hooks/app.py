"""hooks' HTTP app: the URL table and init_app(). It holds the secrets status_api must not:
the SMS provider's token (to check its signatures), the operators' API keys and the key of
the opt-out hashes (and of the survey links); it appends what comes back from the tracking
page (push subscriptions) to the events topic, and the survey answers (SMS replies, the
email's landing page, the tracking page's question) and the operators' changes of call-back
cases to the feedback topic."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel
from redis.asyncio import Redis

from shipnotify import web as sweb
from shipnotify.config import Settings
from shipnotify.hooks import cases, landing, notices, overdue, page_answers, push, sms
from shipnotify.hooks.resources import (
    BOOK,
    FAILURES,
    FEEDBACK,
    HELP,
    REDIS,
    RULES,
    SETTINGS,
    TRACKING,
)
from shipnotify.i18n import LANGUAGES
from shipnotify.store import TrackingStore
from shipnotify.store.feedback import FeedbackStore
from shipnotify.store.notice_failures import NoticeFailures
from shipnotify.store.notices import NoticeBook
from shipnotify.store.survey_help import SurveyHelp
from shipnotify.web import Route, case_changes, cors
from shipnotify.web import event_log as events_topic
from shipnotify.web import redis as sredis
from shipnotify.web.event_log import EventLog

_UNAVAILABLE = (
    "Kafka did not acknowledge, or Redis did not answer: nothing appended; retry after Retry-After",
    sweb.ErrorBody,
)
_SIGNED = {403: ("bad X-Twilio-Signature", sweb.ErrorBody), 400: ("not a form", sweb.ErrorBody)}
_REDIS_UNAVAILABLE = (
    "Redis did not answer: nothing recorded; retry after Retry-After",
    sweb.ErrorBody,
)
_LANDING_ERRORS: dict[int, tuple[str, type[BaseModel] | None]] = {
    404: (
        "a forged or unknown link: a page saying so (HTML), or JSON for a client that does"
        " not accept text/html",
        sweb.ErrorBody,
    ),
    410: ("the survey takes no more answers: a page saying so, or JSON", sweb.ErrorBody),
}
_LANDING_LANG = {
    "name": "lang",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": list(LANGUAGES)},
    "description": "The page's language; by default the survey's.",
}
_CASE_ERRORS: dict[int, tuple[str, type[BaseModel] | None]] = {
    404: ("no case has this id", sweb.ErrorBody),
    422: ("a malformed case id", sweb.ErrorBody),
    503: _REDIS_UNAVAILABLE,
}
_CASE_CHANGE: dict[int, tuple[str, type[BaseModel] | None]] = {
    202: (
        "appended to the feedback topic; the tracker's feedback consumer applies it",
        cases.CaseChanged,
    ),
    404: ("no case has this id", sweb.ErrorBody),
    409: ("the case is closed", sweb.ErrorBody),
    503: _UNAVAILABLE,
}
_PAGE_ANSWER_ERRORS: dict[int, tuple[str, type[BaseModel] | None]] = {
    404: ("no shipment has this tracking id", sweb.ErrorBody),
    409: ("the shipment is not delivered (error: not_delivered)", sweb.ErrorBody),
    410: ("the shipment's survey takes no more answers", sweb.ErrorBody),
    503: _UNAVAILABLE,
}
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
        "Inbound SMS: STOP, START or HELP; or a reply to a survey (a score, what went"
        " wrong), recorded on the feedback topic",
        {
            200: ("TwiML: a reply, or none", None),
            422: ("MessageSid missing from a reply to a survey", sweb.ErrorBody),
            503: _UNAVAILABLE,
            **_SIGNED,
        },
        tag="webhooks",
    ),
    Route(
        "GET",
        "/v1/shipments/{shipment_id}/notices",
        notices.shipment_notices,
        "Operators (or the shipment's account): a shipment's notices and their states",
        {
            200: ("the notices", notices.Notices),
            404: ("another account's shipment", sweb.ErrorBody),
            503: _REDIS_UNAVAILABLE,
        },
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
    # surveys: the email's landing page (HTML); its stylesheet first, so that no token
    # route takes its path
    Route(
        "GET",
        landing.STATIC_PATH,
        landing.stylesheet,
        "The survey landing page's stylesheet, by a name with a hash of its content"
        " (`landing.<12 hex digits>.css`): cached for a year, never revalidated",
        {
            200: ("the stylesheet (text/css)", None),
            404: ("no stylesheet has this name (an earlier version)", sweb.ErrorBody),
        },
        tag="surveys",
    ),
    Route(
        "GET",
        landing.PATH,
        landing.survey_page,
        "The survey email's link: the question, with `score` chosen, and a Send button"
        " (HTML, in the survey's language). Records nothing: mail scanners open links",
        {
            200: ("the page", None),
            422: ("an unsupported lang", sweb.ErrorBody),
            503: _REDIS_UNAVAILABLE,
            **_LANDING_ERRORS,
        },
        parameters=[
            {
                "name": "score",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "The score to show chosen (the email's link of that score);"
                " one off the survey's scale is not chosen.",
            },
            _LANDING_LANG,
        ],
        tag="surveys",
    ),
    Route(
        "POST",
        landing.PATH,
        landing.landing_answer,
        "The landing page's form (application/x-www-form-urlencoded: `score`, `nonce`):"
        " records the score on the feedback topic (a SurveyAnswered, and for an unhappy score"
        " the CaseOpened of a call-back), then thanks, and for an unhappy score asks what went"
        " wrong. The same form sent again is the same event",
        {
            200: ("thanks, or the follow-up form (HTML)", None),
            400: ("not a form", sweb.ErrorBody),
            403: ("the form was sent from another site (its Origin)", sweb.ErrorBody),
            422: (
                "a score off the scale, or a missing or forged field: the form again naming"
                " it, or JSON naming it",
                sweb.ErrorBody,
            ),
            503: _UNAVAILABLE,
            **_LANDING_ERRORS,
        },
        parameters=[_LANDING_LANG],
        tag="surveys",
    ),
    Route(
        "POST",
        landing.FOLLOW_UP_PATH,
        landing.landing_follow_up,
        "The landing page's follow-up form (application/x-www-form-urlencoded: `reason`, one"
        " of late, not_informed, damaged, courier_manner, missed_delivery, other; `comment`,"
        " at most 500 characters; `nonce`): recorded on the feedback topic, then thanks",
        {
            200: ("thanks (HTML)", None),
            400: ("not a form", sweb.ErrorBody),
            403: ("the form was sent from another site (its Origin)", sweb.ErrorBody),
            422: ("a missing or wrong field: the form again naming it, or JSON", sweb.ErrorBody),
            503: _UNAVAILABLE,
            **_LANDING_ERRORS,
        },
        parameters=[_LANDING_LANG],
        tag="surveys",
    ),
    # surveys: the tracking page's question (the page is status_api's)
    Route(
        "POST",
        page_answers.PATH,
        page_answers.page_answer,
        "The tracking page: the score given to the question after delivery (the scale of"
        " SHIPNOTIFY_SURVEY_SCALE), recorded on the feedback topic (and for an unhappy score"
        " the CaseOpened of a call-back); the same nonce again is the same answer",
        {202: ("recorded", page_answers.AnswerRecorded), **_PAGE_ANSWER_ERRORS},
        body=page_answers.PageAnswer,
        path_types={"tracking_id": push.TrackingId},
        tag="surveys",
    ),
    Route(
        "POST",
        page_answers.FOLLOW_UP_PATH,
        page_answers.page_follow_up,
        "The tracking page: what went wrong, after an unhappy score",
        {202: ("recorded", page_answers.FollowUpRecorded), **_PAGE_ANSWER_ERRORS},
        body=page_answers.PageFollowUp,
        path_types={"tracking_id": push.TrackingId},
        tag="surveys",
    ),
    *(
        Route(
            "OPTIONS",
            path,
            handler,
            "CORS preflight: the tracking page's origin (SHIPNOTIFY_PUBLIC_URL) may POST with a"
            " JSON body; no other origin may",
            {
                204: ("allowed: the Access-Control-Allow-* headers", None),
                403: ("another origin, method or header", sweb.ErrorBody),
            },
            tag="surveys",
        )
        for path, handler in (
            (page_answers.PATH, page_answers.answer_preflight),
            (page_answers.FOLLOW_UP_PATH, page_answers.follow_up_preflight),
        )
    ),
    # the operators' call-back cases
    Route(
        "GET",
        cases.PATH,
        cases.list_cases,
        "Operators: call-back cases, open ones soonest due first, closed ones latest closed"
        " first; filtered by state, depot and courier",
        {
            200: ("the cases", cases.CaseList),
            422: ("a bad query parameter, named", sweb.ErrorBody),
            503: _REDIS_UNAVAILABLE,
        },
        parameters=cases.query_parameters(),
        security="apiKey",
        tag="cases",
    ),
    Route(
        "GET",
        cases.CASE_PATH,
        cases.get_case,
        "Operators: a case, with its shipment's timeline and whom to call (the customer the"
        " survey asked; none for the tracking page's answer)",
        {200: ("the case", cases.CaseDetail), **_CASE_ERRORS},
        security="apiKey",
        path_types={"case_id": cases.CaseId},
        tag="cases",
    ),
    Route(
        "POST",
        cases.CASE_PATH + "/take",
        cases.take,
        "Operators: an operator takes the case (open -> in_progress)",
        _CASE_CHANGE,
        body=case_changes.TakeCase,
        security="apiKey",
        path_types={"case_id": cases.CaseId},
        tag="cases",
    ),
    Route(
        "POST",
        cases.CASE_PATH + "/notes",
        cases.note,
        "Operators: a note on the case",
        _CASE_CHANGE,
        body=case_changes.NoteCase,
        security="apiKey",
        path_types={"case_id": cases.CaseId},
        tag="cases",
    ),
    Route(
        "POST",
        cases.CASE_PATH + "/close",
        cases.close,
        "Operators: the case is closed, with its outcome, its cause and a note",
        _CASE_CHANGE,
        body=case_changes.CloseCase,
        security="apiKey",
        path_types={"case_id": cases.CaseId},
        tag="cases",
    ),
]


def install(
    app: web.Application,
    settings: Settings,
    *,
    redis: Redis | None = None,
    event_log: EventLog | None = None,
    feedback: FeedbackStore | None = None,
) -> None:
    """Adds hooks to an app (its own, or the single app of `shipnotify dev`, where it shares
    ingest's event log). Ready while Redis answers and Kafka is connected. `feedback` reads
    the surveys and cases (by default from the app's Redis)."""
    # STOP and START keep a keyed hash of the number; the survey links are signed with it
    settings.require("opt_out_secret")
    client = sredis.client_of(app, settings, given=redis)
    app[SETTINGS] = settings
    app[BOOK] = NoticeBook(
        client, settings.notifications_topic, opt_out_secret=settings.opt_out_secret
    )
    app[FAILURES] = NoticeFailures(client, keep_days=settings.retention_days)
    app[TRACKING] = TrackingStore(client)
    app[RULES] = settings.survey_rules()
    app[FEEDBACK] = feedback or FeedbackStore(
        client,
        opt_out_secret=settings.opt_out_secret.encode(),
        keep_days=settings.retention_days,
        answer_days=settings.survey_answer_days,
        every_days=settings.survey_every_days,
    )
    app[HELP] = SurveyHelp(client)
    app[REDIS] = client
    events_topic.install(app, settings, given=event_log)
    sweb.add_routes(app, ROUTES)
    page = cors.origin_of(settings.public_url)
    cors.allow(app, cors.CorsRule(page, methods=("POST", "DELETE")), [push.PATH])
    answers_from_page = [page_answers.PATH, page_answers.FOLLOW_UP_PATH]
    cors.allow(app, cors.CorsRule(page, methods=("POST",)), answers_from_page)
    sredis.check_ready(app, client)
    overdue.install(app, app[FEEDBACK])


def init_app(
    settings: Settings,
    *,
    redis: Redis | None = None,
    event_log: EventLog | None = None,
    feedback: FeedbackStore | None = None,
) -> web.Application:
    app = sweb.new_app(settings.max_body_bytes, trusted_proxies=settings.trusted_proxies)
    install(app, settings, redis=redis, event_log=event_log, feedback=feedback)
    return app
