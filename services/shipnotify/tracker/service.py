"""Runs the tracker as a service: wires Kafka and Redis from Settings, and runs its three
consume loops, the shipment events, the feedback and the accounts, side by side."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

from opentelemetry import trace
from redis.asyncio import Redis

from shipnotify import logs, tracing
from shipnotify.config import Settings
from shipnotify.consumer import startup
from shipnotify.model.quiet import zone_of
from shipnotify.store import TrackingStore
from shipnotify.store.accounts import AccountStore
from shipnotify.store.day_figures import NoticeDays, ShipmentDays
from shipnotify.store.feedback import FeedbackStore
from shipnotify.store.survey_days import SurveyDays
from shipnotify.tracker.accounts import AccountTracker
from shipnotify.tracker.consumer import Tracker
from shipnotify.tracker.feedback import FeedbackTracker
from shipnotify.tracker.notices import NoticePlanner, planner
from shipnotify.tracker.webhooks import WebhookPlanner

log = logs.get(__name__)


def check(settings: Settings) -> None:
    """Refuses settings the tracker cannot start with: the surveys' SMS reply keys and the
    survey throttle keep numbers and addresses by their keyed hash."""
    settings.require("opt_out_secret")


def feedback_store(settings: Settings, redis: Redis) -> FeedbackStore:
    """The feedback store as the settings make it (the tracker's and the rebuild's)."""
    rules = settings.survey_rules()
    return FeedbackStore(
        redis,
        settings.opt_out_secret.encode(),
        keep_days=settings.retention_days,
        answer_days=rules.answer_days,
        every_days=rules.every_days,
        days=SurveyDays(
            redis,
            zone_of(settings.time_zone),
            answer_days=rules.answer_days,
            keep_days=settings.figures_days,
        ),
        notices=NoticeDays(redis, zone_of(settings.time_zone), keep_days=settings.figures_days),
    )


def tracking_store(settings: Settings, redis: Redis) -> TrackingStore:
    """The tracking store as the settings make it (the tracker's and the rebuild's), folding
    the per-day shipment figures."""
    return TrackingStore(
        redis,
        retention_days=settings.retention_days,
        stale_days=settings.stale_days,
        days=ShipmentDays(
            redis,
            zone_of(settings.time_zone),
            keep_days=settings.figures_days,
        ),
    )


async def serve(
    settings: Settings,
    stop: asyncio.Event,
    *,
    plan: NoticePlanner | None = None,
    tracer: trace.Tracer | None = None,
) -> None:
    """`plan`: the events' notices; by default the status notices and the surveys."""
    check(settings)
    rules = settings.survey_rules()
    started = startup.started(
        settings,
        stop,
        group=settings.tracker_group,
        topic=settings.events_topic,
        also=[
            (settings.feedback_group, settings.feedback_topic),
            (settings.accounts_group, settings.accounts_topic),
        ],
    )
    async with started as clients:
        if clients is None:
            return
        tracking = tracking_store(settings, clients.redis)
        webhooks = WebhookPlanner(clients.redis, tracking_id_secret=settings.tracking_id_secret)
        tracker = Tracker(
            settings,
            tracking,
            clients.consumer,
            clients.producer,
            plan or planner(rules),
            tracer=tracer or tracing.tracer(),
            webhooks=webhooks,
        )
        feedback = FeedbackTracker(
            settings,
            store=feedback_store(settings, clients.redis),
            tracking=tracking,
            consumer=clients.others[0],
            producer=clients.producer,
            rules=rules,
            webhooks=webhooks,
        )
        accounts = AccountTracker(
            settings,
            store=AccountStore(clients.redis),
            redis=clients.redis,
            tracking=tracking,
            consumer=clients.others[1],
            producer=clients.producer,
        )
        log.info(
            "tracker started",
            groups=[settings.tracker_group, settings.feedback_group, settings.accounts_group],
            topics=[settings.events_topic, settings.feedback_topic, settings.accounts_topic],
        )
        try:
            await _side_by_side(tracker.run(stop), feedback.run(stop), accounts.run(stop))
        finally:
            log.info("accounts stopping", **vars(accounts.counts))
            log.info("feedback stopping", **vars(feedback.counts))
            log.info("tracker stopping", **vars(tracker.counts))


async def _side_by_side(*loops: Coroutine[Any, Any, None]) -> None:
    """Runs the loops until each has returned; one that fails stops the others (their
    batches uncommitted, redelivered later) and its error goes up."""
    tasks = [asyncio.ensure_future(loop) for loop in loops]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)
