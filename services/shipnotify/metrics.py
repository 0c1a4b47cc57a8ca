"""The services' Prometheus metrics, served at /metrics by every service.

Each service is one process, so the process's default registry is the service's. Label
values are bounded: channels, outcomes, provider error codes, partitions, route templates.
"""

from __future__ import annotations

from aiohttp import web
from aiokafka import AIOKafkaConsumer
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

EVENTS_INGESTED = Counter(
    "shipnotify_events_ingested",
    "Events ingest and hooks appended (Kafka acknowledged them), by kind: registered, status,"
    " erasure, courier, push_subscribed, push_unsubscribed.",
    ["kind"],
)
EVENT_ID_CHECKS = Counter(
    "shipnotify_event_id_checks",
    "Event ids ingest checked before appending, by verdict: new, same (a retry), conflict"
    " (refused with 409: another event's id), unchecked (Redis did not answer; the tracker"
    " checks).",
    ["verdict"],
)
EVENTS_APPLIED = Counter(
    "shipnotify_events_applied",
    "Events the tracker applied to Redis, by outcome: advanced, kept (in the timeline only)"
    " or duplicate.",
    ["outcome"],
)
JOBS_PRODUCED = Counter(
    "shipnotify_notification_jobs_produced",
    "Notification jobs the tracker produced for the notifier.",
)
DEAD_LETTERS = Counter(
    "shipnotify_dead_letters",
    "Records sent to a dead-letter topic, by that topic and why: malformed (cannot be read or"
    " can never be sent), conflict (an event id already another event's), refused (Redis"
    " fails every time on the event), unbuildable (the notice cannot be made), rejected (a"
    " push service refused the request for good: 400, 401, 403, 413), gave_up (the"
    " retry age limit).",
    ["topic", "reason"],
)
NOTICES = Counter(
    "shipnotify_notices",
    "Notices finished, by channel and outcome: sent, rejected, opted_out, superseded,"
    " cancelled (the contacts were erased), gone (a push subscription), dead.",
    ["channel", "outcome"],
)
SEND_FAILURES = Counter(
    "shipnotify_send_failures",
    "Sends a provider refused or that failed, by channel, kind (permanent, transient or"
    " unknown: it may have the message) and the provider's code (empty: none).",
    ["channel", "kind", "code"],
)
RETRIES = Counter(
    "shipnotify_notice_retries",
    "Notices put back in the due set to be tried again later.",
    ["channel"],
)
RECEIPTS = Counter(
    "shipnotify_delivery_receipts",
    "SMS delivery receipts status_api took, by the provider's status. A receipt may settle a"
    " notice whose send timed out before the notifier looks it up.",
    ["status"],
)
TAP_TO_NOTICE = Histogram(
    "shipnotify_tap_to_notice_seconds",
    "From ingest accepting the courier's tap to the provider accepting its notice.",
    ["channel"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600),
)
HTTP_REQUESTS = Histogram(
    "shipnotify_http_request_duration_seconds",
    "HTTP requests, by route (its template; unmatched: none matched), method and status class"
    " (2xx to 5xx); the _count is the number of requests. A live page's request (server-sent"
    " events) lasts as long as the page stays open.",
    ["route", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
FEEDBACK_APPLIED = Counter(
    "shipnotify_feedback_events_applied",
    "Feedback events the tracker applied to Redis, by kind (survey_sent, survey_answered,"
    " follow_up_answered, case_opened, case_taken, case_noted, case_closed) and outcome"
    " (applied, duplicate, kept_out: an answer past its survey's window, a change to an"
    " unknown or closed case).",
    ["kind", "outcome"],
)
CALLBACK_CASES = Counter(
    "shipnotify_callback_cases",
    "Call-back cases changed, by change: opened, taken, noted, closed.",
    ["change"],
)
CALLBACK_CASES_OVERDUE = Gauge(
    "shipnotify_callback_cases_overdue",
    "Call-back cases not closed by their due time (hooks reads it from Redis every 15 s).",
)
SURVEY_ANSWERS = Counter(
    "shipnotify_survey_answers",
    "Survey answers hooks appended, by source (sms, email, page) and unhappy (true, false).",
    ["source", "unhappy"],
)
SURVEY_NOTICES = Counter(
    "shipnotify_survey_notices",
    "Notices of the survey loop that ended, by kind (survey, follow_up, apology, case_alert;"
    " and endpoint_disabled, a team's email) and final state (sent, throttled, opted_out,"
    " rejected, dead, ...).",
    ["kind", "state"],
)
SATISFACTION = Gauge(
    "shipnotify_satisfaction",
    "Each scale's figure over the last 7 days in the carrier's time zone, as the console shows"
    " it: CSAT the percentage satisfied, NPS promoters minus detractors, CES the mean score"
    " (the console reads the per-day figures every 60 s); NaN without answers.",
    ["scale"],
)
SATISFACTION_ANSWERS = Gauge(
    "shipnotify_satisfaction_answers",
    "Survey answers over the last 7 days, by scale (the console, every 60 s).",
    ["scale"],
)
SURVEYS_SENT = Gauge(
    "shipnotify_satisfaction_surveys_sent",
    "Surveys sent over the last 7 days, by scale (the console, every 60 s): with"
    " shipnotify_satisfaction_answers, the response rate.",
    ["scale"],
)
SHIPMENTS_TODAY = Gauge(
    "shipnotify_shipments_today",
    "Shipments registered and delivered today in the carrier's time zone, by figure"
    " (registered, delivered; the console reads the per-day figures every 60 s).",
    ["figure"],
)
COVERAGE = Gauge(
    "shipnotify_coverage_percent",
    "The share of the shipments delivered in the last 30 days whose courier tapped a status in"
    " the courier app before the delivery (the console, every 60 s); NaN without deliveries.",
)
TAP_TO_NOTICE_QUANTILE = Gauge(
    "shipnotify_tap_to_notice_quantile_seconds",
    "The status notices' tap-to-notice latency over the last 30 days, by quantile (0.5,"
    " 0.95), read from the per-day histogram (the console, every 60 s); NaN without notices.",
    ["quantile"],
)
NOTICES_FINAL = Gauge(
    "shipnotify_notices_final",
    "Notices whose outcome became final over the last 30 days (by the day they were planned),"
    " by channel and outcome: sent, failed (the console, every 60 s).",
    ["channel", "outcome"],
)
SMS_DELIVERED = Gauge(
    "shipnotify_sms_delivered_percent",
    "The share of the SMS with a final delivery receipt over the last 30 days that were"
    " delivered (the console, every 60 s); NaN without receipts.",
)
CONSUMER_LAG = Gauge(
    "shipnotify_consumer_lag",
    "Records between the group's position and the end of each assigned partition.",
    ["group", "topic", "partition"],
)


async def metrics(request: web.Request) -> web.Response:
    response = web.Response(body=generate_latest())
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]  # aiohttp sets the charset apart
    response.charset = "utf-8"
    return response


class LagGauge:
    """Sets CONSUMER_LAG for a consumer's partitions after each batch, and drops the series of
    partitions a rebalance took away."""

    def __init__(self, consumer: AIOKafkaConsumer, group: str) -> None:
        self._consumer, self._group = consumer, group
        self._shown: set[tuple[str, str]] = set()

    async def update(self) -> None:
        shown = set()
        for tp in self._consumer.assignment():
            end = self._consumer.highwater(tp)
            if end is None:
                continue  # nothing fetched from it yet
            position = await self._consumer.position(tp)
            labels = (tp.topic, str(tp.partition))
            CONSUMER_LAG.labels(self._group, *labels).set(max(0, end - position))
            shown.add(labels)
        for labels in self._shown - shown:
            CONSUMER_LAG.remove(self._group, *labels)
        self._shown = shown
