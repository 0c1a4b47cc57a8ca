"""The console app's resources, by typed key (set by app.install)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiohttp import web
from redis.asyncio import Redis

from shipnotify.config import Settings
from shipnotify.console.sessions import Sessions
from shipnotify.store import TrackingStore
from shipnotify.store.day_figures import DayFigures
from shipnotify.store.feedback import FeedbackStore
from shipnotify.store.survey_days import SurveyDays

SETTINGS = web.AppKey("console_settings", Settings)
SESSIONS = web.AppKey("console_sessions", Sessions)
DAYS = web.AppKey("console_survey_days", SurveyDays)
ZONE = web.AppKey("console_zone", ZoneInfo)
FEEDBACK = web.AppKey("console_feedback", FeedbackStore)  # surveys and cases, read only
TRACKING = web.AppKey("console_tracking", TrackingStore)  # the shipments' timelines, read only
REDIS = web.AppKey("console_redis", Redis)  # the shipments' owners, read only
FIGURES = web.AppKey("console_day_figures", DayFigures)  # shipments' and notices' per day
