"""Runs the tracker as a service: wires Kafka and Redis from Settings."""

from __future__ import annotations

import asyncio

from opentelemetry import trace

from shipnotify import logs, tracing
from shipnotify.config import Settings
from shipnotify.consumer import startup
from shipnotify.store import TrackingStore
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
    started = startup.started(
        settings, stop, group=settings.tracker_group, topic=settings.events_topic
    )
    async with started as clients:
        if clients is None:
            return
        tracker = Tracker(
            settings,
            TrackingStore(
                clients.redis,
                retention_days=settings.retention_days,
                stale_days=settings.stale_days,
            ),
            clients.consumer,
            clients.producer,
            plan,
            tracer=tracer or tracing.tracer(),
        )
        log.info("tracker started", group=settings.tracker_group, topic=settings.events_topic)
        try:
            await tracker.run(stop)
        finally:
            log.info("tracker stopping", **vars(tracker.counts))
