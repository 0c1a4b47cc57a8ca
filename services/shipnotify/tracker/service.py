"""Runs the tracker as a service: wires Kafka and Redis from Settings."""

from __future__ import annotations

import asyncio

from opentelemetry import trace

from shipnotify import kafka, logs, tracing
from shipnotify.config import Settings
from shipnotify.store import TrackingStore, connect, intact, learn_slots
from shipnotify.tracker.consumer import Tracker
from shipnotify.tracker.notices import NoticePlanner, plan_notices

log = logs.get(__name__)


async def serve(
    settings: Settings,
    stop: asyncio.Event,
    *,
    plan: NoticePlanner = plan_notices,
    tracer: trace.Tracer | None = None,
) -> None:
    if not await kafka.wait_until_reachable(settings, stop):
        return
    redis = connect(settings)
    await learn_slots(redis)
    if not await intact.wait_until_intact(
        redis, settings, settings.tracker_group, settings.events_topic, stop
    ):
        await redis.aclose()
        return
    producer = kafka.producer(settings)
    consumer = kafka.consumer(settings, settings.events_topic, settings.tracker_group)
    await producer.start()
    await consumer.start()
    tracker = Tracker(
        settings,
        TrackingStore(
            redis, retention_days=settings.retention_days, stale_days=settings.stale_days
        ),
        consumer,
        producer,
        plan,
        tracer=tracer or tracing.tracer(),
    )
    log.info("tracker started", group=settings.tracker_group, topic=settings.events_topic)
    try:
        await tracker.run(stop)
    finally:
        await consumer.stop()  # commits nothing more; leaves the group
        await producer.stop()
        await redis.aclose()
        log.info("tracker stopped", **vars(tracker.counts))
