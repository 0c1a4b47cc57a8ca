"""Runs the notifier as a service: wires Kafka, Redis and the providers from Settings."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from opentelemetry import trace

from shipnotify import logs, tracing
from shipnotify.config import Settings, env_name
from shipnotify.consumer import startup
from shipnotify.notifier.outcomes import Sender
from shipnotify.notifier.webhook_sender import WebhookSender
from shipnotify.notifier.worker import Notifier
from shipnotify.store.notice_failures import NoticeFailures
from shipnotify.store.notices import NoticeBook
from shipnotify.store.survey_throttle import SurveyThrottle
from shipnotify.store.webhooks import WebhookStore
from shipnotify.v1 import shipment_events_pb2 as pb

log = logs.get(__name__)


def senders_from(settings: Settings) -> list[Sender]:
    from shipnotify.notifier.senders import SmtpEmail, TwilioSms, WebPush

    senders: list[Sender] = [TwilioSms(settings), SmtpEmail(settings)]
    # Without a VAPID key there is no push lane: a push notice is rejected ("no sender for
    # this channel"), as any channel's without a sender.
    if settings.vapid_private_key:
        senders.append(WebPush(settings))
    else:
        log.warning("push is off", unset=env_name("vapid_private_key"))
    return senders


def check(settings: Settings, *, providers: bool = True) -> None:
    """Refuses settings the notifier cannot start with, naming every missing secret, and a
    VAPID key that is no pair with its public key or has no subject the push services take."""
    sms = ("twilio_account_sid", "twilio_auth_token", "twilio_from") if providers else ()
    settings.require("opt_out_secret", *sms)
    if settings.vapid_private_key:
        settings.require("vapid_subject")
        from shipnotify.notifier.senders import vapid

        vapid(settings)


async def serve(
    settings: Settings,
    stop: asyncio.Event,
    *,
    senders: Sequence[Sender] | None = None,
    tracer: trace.Tracer | None = None,
) -> None:
    check(settings, providers=senders is None)
    senders = list(senders) if senders is not None else senders_from(settings)
    started = startup.started(
        settings, stop, group=settings.notifier_group, topic=settings.notifications_topic
    )
    try:
        async with started as clients:
            if clients is not None:
                await _run(settings, clients, senders, stop, tracer or tracing.tracer())
    finally:
        for sender in senders:
            with contextlib.suppress(Exception):
                await sender.close()


async def _run(
    settings: Settings,
    clients: startup.Clients,
    senders: list[Sender],
    stop: asyncio.Event,
    tracer: trace.Tracer,
) -> None:
    book = NoticeBook(
        clients.redis, settings.notifications_topic, opt_out_secret=settings.opt_out_secret
    )
    if moved := await book.hash_stored_opt_outs():
        log.info("opt-outs stored by number now stored by keyed hash", count=moved)
    webhooks = WebhookStore(clients.redis, log_days=settings.webhook_log_days)
    if not any(s.channel == pb.CHANNEL_WEBHOOK for s in senders):
        # the webhook lane reads its endpoints from Redis: made once Redis is reached (the
        # list is serve()'s, which closes it)
        senders.append(WebhookSender(settings, endpoints=webhooks))
    throttle = SurveyThrottle(
        clients.redis,
        secret=settings.opt_out_secret.encode(),
        every_days=settings.survey_every_days,
    )
    notifier = Notifier(
        settings,
        book=book,
        senders=senders,
        producer=clients.producer,
        throttle=throttle,
        webhooks=webhooks,
        tracer=tracer,
        failures=NoticeFailures(clients.redis, keep_days=settings.retention_days),
    )
    log.info("notifier started", group=settings.notifier_group, topic=settings.notifications_topic)
    try:
        due = asyncio.create_task(notifier.due(stop))
        await notifier.consume(clients.consumer, stop)
        await due
    finally:
        await notifier.drain(2 * settings.send_timeout_s)  # a send started last has its time
        log.info("notifier stopped", **vars(notifier.counts))
