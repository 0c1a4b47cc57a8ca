"""What the handlers of hooks share, set by `install`."""

from aiohttp import web
from redis.asyncio import Redis

from shipnotify.config import Settings
from shipnotify.model.survey import Rules
from shipnotify.store import TrackingStore
from shipnotify.store.feedback import FeedbackStore
from shipnotify.store.notice_failures import NoticeFailures
from shipnotify.store.notices import NoticeBook
from shipnotify.store.survey_help import SurveyHelp

SETTINGS = web.AppKey("hooks_settings", Settings)
BOOK = web.AppKey("notice_book", NoticeBook)
TRACKING = web.AppKey("hooks_tracking", TrackingStore)  # tracking id -> shipment id, read only
FEEDBACK = web.AppKey("hooks_feedback", FeedbackStore)  # surveys and cases, read only
RULES = web.AppKey("hooks_survey_rules", Rules)
HELP = web.AppKey("hooks_survey_help", SurveyHelp)
REDIS = web.AppKey("hooks_redis", Redis)  # account keys and shipments' owners, read only
FAILURES = web.AppKey("hooks_notice_failures", NoticeFailures)  # a failed receipt lists it
