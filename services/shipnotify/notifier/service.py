"""Runs the notifier as a service: wires Kafka, Redis and the providers from Settings."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from opentelemetry import trace

from shipnotify import kafka, logs, tracing
from shipnotify.config import Settings
from shipnotify.notifier.outcomes import Sender
from shipnotify.notifier.worker import Notifier
from shipnotify.store import connect, intact, learn_slots
from shipnotify.store.notices import NoticeBook

log = logs.get(__name__)


def senders_from(settings: Settings) -> list[Sender]:
    from shipnotify.notifier.senders import SmtpEmail, TwilioSms

    return [TwilioSms(settings), SmtpEmail(settings)]


def check(settings: Settings, *, providers: bool = True) -> None:
    """Refuses settings the notifier cannot start with, naming every missing secret."""
    sms = ("twilio_account_sid", "twilio_auth_token", "twilio_from") if providers else ()
    settings.require("opt_out_secret", *sms)


async def serve(
    settings: Settings,
    stop: asyncio.Event,
    *,
    senders: Sequence[Sender] | None = None,
    tracer: trace.Tracer | None = None,
) -> None:
    check(settings, providers=senders is None)
    if not await kafka.wait_until_reachable(settings, stop):
        return
    senders = list(senders) if senders is not None else senders_from(settings)
    redis = connect(settings)
    await learn_slots(redis)
    if not await intact.wait_until_intact(
        redis, settings, settings.notifier_group, settings.notifications_topic, stop
    ):
        await redis.aclose()
        return
    book = NoticeBook(redis, settings.notifications_topic, opt_out_secret=settings.opt_out_secret)
    if moved := await book.hash_stored_opt_outs():
        log.info("opt-outs stored by number now stored by keyed hash", count=moved)
    producer = kafka.producer(settings)
    consumer = kafka.consumer(settings, settings.notifications_topic, settings.notifier_group)
    await producer.start()
    await consumer.start()
    notifier = Notifier(
        settings,
        book=book,
        senders=senders,
        producer=producer,
        tracer=tracer or tracing.tracer(),
    )
    log.info("notifier started", group=settings.notifier_group, topic=settings.notifications_topic)
    try:
        due = asyncio.create_task(notifier.due(stop))
        await notifier.consume(consumer, stop)
        await due
    finally:
        await notifier.drain(2 * settings.send_timeout_s)  # a send started last has its time
        await consumer.stop()
        await producer.stop()
        for sender in senders:
            with contextlib.suppress(Exception):
                await sender.close()
        await redis.aclose()
        log.info("notifier stopped", **vars(notifier.counts))
