"""What the handlers of hooks share, set by `install`."""

from aiohttp import web

from shipnotify.config import Settings
from shipnotify.store import TrackingStore
from shipnotify.store.notices import NoticeBook

SETTINGS = web.AppKey("hooks_settings", Settings)
BOOK = web.AppKey("notice_book", NoticeBook)
TRACKING = web.AppKey("hooks_tracking", TrackingStore)  # tracking id -> shipment id, read only
