"""The console app's resources, by typed key (set by app.install)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiohttp import web

from shipnotify.config import Settings
from shipnotify.console.sessions import Sessions
from shipnotify.store.survey_days import SurveyDays

SETTINGS = web.AppKey("console_settings", Settings)
SESSIONS = web.AppKey("console_sessions", Sessions)
DAYS = web.AppKey("console_survey_days", SurveyDays)
ZONE = web.AppKey("console_zone", ZoneInfo)
