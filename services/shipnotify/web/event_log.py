"""The topics an HTTP deployable appends to (ingest, hooks): the events topic (shipment
events), the accounts topic (ingest's account API) and the feedback topic (survey answers,
call-back cases; hooks). Append,
acknowledged by all replicas, or refuse with 503 and Retry-After. One producer an app, for
both topics: `shipnotify dev` serves ingest and hooks in one app, and they share it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Sequence

from aiohttp import web
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from shipnotify import backoff, kafka, logs, metrics, tracing
from shipnotify.config import Settings
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import feedback_pb2 as fpb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.v1 import survey_pb2 as spb
from shipnotify.web import CHECKS, ApiError

log = logs.get(__name__)
# body -> metric label
_KINDS = {
    "registered": "registered",
    "status_changed": "status",
    "contacts_erased": "erasure",
    "courier_assigned": "courier",
    "push_subscribed": "push_subscribed",
    "push_unsubscribed": "push_unsubscribed",
    "notice_sent_again": "notice_sent_again",
}
# AnswerSource -> metric label
_SOURCES = {
    spb.ANSWER_SOURCE_SMS: "sms",
    spb.ANSWER_SOURCE_EMAIL: "email",
    spb.ANSWER_SOURCE_PAGE: "page",
}
RETRY_AFTER_S = "5"


class LogUnavailable(Exception):
    """Kafka did not acknowledge in time; the client must retry (HTTP 503)."""


class EventLog:
    """A producer to the events and feedback topics, connected in the background: the app
    serves (with 503s) while Kafka is away, and appends as soon as it is back."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        self._connecting = asyncio.create_task(self._connect())

    async def _connect(self) -> None:
        # tries until connected, or until stop() is called
        async for attempt in backoff.attempts(first_s=0.2, cap_s=5.0, stop=self._stopping):
            producer = kafka.producer(self._settings)
            try:
                await kafka.ensure_topics(self._settings)
                await producer.start()
            except asyncio.CancelledError:
                await producer.stop()
                raise
            except (KafkaError, OSError) as e:
                await producer.stop()
                log.warning(
                    "kafka not reachable, retrying", error=str(e), retry_in_s=attempt.retry_in_s
                )
                continue
            if self._stopping.is_set():  # stopped while it connected
                await producer.stop()
                return
            self._producer = producer
            log.info("kafka producer ready")
            return

    async def stop(self) -> None:
        self._stopping.set()
        if self._connecting:
            # An attempt under way is let finish: aiokafka cancelled amid its bootstrap
            # leaves a connection open. One that an unresponsive broker holds is cancelled.
            try:
                async with asyncio.timeout(self._settings.kafka_send_timeout_s):
                    await asyncio.shield(self._connecting)
            except TimeoutError:
                self._connecting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._connecting
        if self._producer:
            await self._producer.stop()

    @property
    def ready(self) -> bool:
        return self._producer is not None

    async def append(self, events: Sequence[pb.ShipmentEvent]) -> None:
        """Appends to the events topic; returns once every event is acknowledged (acks=all);
        raises LogUnavailable. Each record carries the current trace context (the
        request's) in its headers."""
        await self._send(self._settings.events_topic, events)
        for event in events:
            metrics.EVENTS_INGESTED.labels(_KINDS[str(event.WhichOneof("body"))]).inc()

    async def append_feedback(self, events: Sequence[fpb.FeedbackEvent]) -> None:
        """Appends to the feedback topic, as `append` does: the events of one answer (an
        answer and the case it opens) go in one call, keyed by their shipment."""
        await self._send(self._settings.feedback_topic, events)
        for event in events:
            if event.WhichOneof("body") == "survey_answered":
                answer = event.survey_answered
                unhappy = "true" if answer.unhappy else "false"
                metrics.SURVEY_ANSWERS.labels(_SOURCES[answer.source], unhappy).inc()

    async def append_accounts(self, events: Sequence[apb.AccountEvent]) -> None:
        """Appends to the accounts topic, as `append` does, keyed by account id."""
        await self._send(self._settings.accounts_topic, events)

    async def _send(
        self,
        topic: str,
        events: Sequence[pb.ShipmentEvent]
        | Sequence[fpb.FeedbackEvent]
        | Sequence[apb.AccountEvent],
    ) -> None:
        if self._producer is None:
            raise LogUnavailable("not connected to Kafka")
        headers = tracing.headers()
        try:
            async with asyncio.timeout(self._settings.kafka_send_timeout_s):
                acks = [
                    await self._producer.send(
                        topic,
                        key=_key(e),
                        value=e.SerializeToString(),
                        headers=headers,
                    )
                    for e in events
                ]
                await asyncio.gather(*acks)
        except (KafkaError, TimeoutError) as e:
            log.warning("kafka did not acknowledge", error=repr(e), events=len(events), topic=topic)
            raise LogUnavailable(str(e)) from None


def _key(event: pb.ShipmentEvent | fpb.FeedbackEvent | apb.AccountEvent) -> bytes:
    """A record's key: its account's, or its shipment's (a partition keeps their order)."""
    if isinstance(event, apb.AccountEvent):
        return event.account_id.encode()
    return event.shipment_id.encode()


EVENT_LOG = web.AppKey("event_log", EventLog)


def install(app: web.Application, settings: Settings, *, given: EventLog | None = None) -> EventLog:
    """The app's event log: `given`, or the one another deployable of the same app installed,
    or a new one; started and stopped with the app, and part of its readiness (`kafka`)."""
    if EVENT_LOG in app:
        if given is not None and given is not app[EVENT_LOG]:
            raise ValueError("the app already has another event log")
        return app[EVENT_LOG]
    app[EVENT_LOG] = events = given or EventLog(settings)

    async def running(app: web.Application) -> AsyncIterator[None]:
        await events.start()
        yield
        await events.stop()

    async def ready() -> bool:
        return events.ready

    app.cleanup_ctx.append(running)
    app[CHECKS]["kafka"] = ready
    return events


async def append(request: web.Request, events: Sequence[pb.ShipmentEvent]) -> None:
    """Appends to the request's app's event log; 503 with Retry-After when Kafka does not
    acknowledge (nothing the client was told is accepted is lost: it retries)."""
    if events:
        await _acknowledged(request.app[EVENT_LOG].append(events))


async def append_feedback(request: web.Request, events: Sequence[fpb.FeedbackEvent]) -> None:
    """Appends to the feedback topic, with the same answers as `append`."""
    if events:
        await _acknowledged(request.app[EVENT_LOG].append_feedback(events))


async def append_accounts(request: web.Request, events: Sequence[apb.AccountEvent]) -> None:
    """Appends to the accounts topic, with the same answers as `append`."""
    if events:
        await _acknowledged(request.app[EVENT_LOG].append_accounts(events))


async def _acknowledged(appended: Awaitable[None]) -> None:
    try:
        await appended
    except LogUnavailable:
        raise ApiError(
            503,
            "unavailable",
            "the event log is unreachable; nothing was recorded",
            {"kafka": "unreachable"},
            {"Retry-After": RETRY_AFTER_S},
        ) from None
