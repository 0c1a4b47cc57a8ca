"""The public tracking page: one HTML document per shipment, rendered from templates/ (Jinja2,
autoescaped) in the reader's language (the catalogs' `page.*` texts), with the stylesheet and
the script of static/ (served by versioned name: assets.py).

The first render is complete without JavaScript (times in UTC); page.js then shows times in
the viewer's zone and keeps the page current from the events stream, or by polling the JSON
API when the stream is not available. It reads its settings and words from the page's JSON
data block: nothing inline runs, so the Content-Security-Policy allows no inline script.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from babel.messages.pofile import read_po
from jinja2 import Environment

from shipnotify import i18n
from shipnotify.i18n import DEFAULT, LANGUAGES, mark
from shipnotify.i18n.questions import QUESTION, REASON, REASON_NAMES
from shipnotify.model import survey
from shipnotify.model.status import Status
from shipnotify.status_api import assets
from shipnotify.status_api.progress import ENDS
from shipnotify.web import pages

if TYPE_CHECKING:
    from shipnotify.status_api.app import Place, TimelineItem, Tracking


def _page_ids() -> list[str]:
    """The `page.*` message ids, as `make i18n` extracted them from the templates and here."""
    with (i18n.LOCALES.parent / "messages.pot").open("rb") as f:
        return [str(m.id) for m in read_po(f) if str(m.id).startswith("page.")]


# The page's words by language and by the name after `page.` (UI["ro"]["live"]).
_IDS = _page_ids()
UI = {lang: {k.removeprefix("page."): i18n.text(lang, k) for k in _IDS} for lang in LANGUAGES}


STEP_STATES = ("current", "attempted", "collect", "complete", "ended")  # aria-current="step"
HIDDEN = {  # a stage's state -> the name of the words screen readers hear after the stage
    "done": "done",
    "complete": "done",
    "todo": "todo",
    "ended": "ended",
    "current": "current",
    "attempted": "current",
    "collect": "current",
}
DELIVERED = Status.DELIVERED.value
# The class of the status headline.
KINDS = {
    Status.DELIVERED.value: "delivered",
    Status.DELIVERY_ATTEMPTED.value: "attempted",
    Status.READY_FOR_COLLECTION.value: "collect",
    **{s.value: "ended" for s in ENDS},
}
SCRIPT_UI = ("title", "status", "attempted", "live", "connecting", "reconnecting", "local_note")
# The texts no template names (the script's, the stages' states'), named for `make i18n`.
_UNTEMPLATED = (
    mark("page.live"),
    mark("page.connecting"),
    mark("page.reconnecting"),
    mark("page.local_note"),
    mark("page.done"),
    mark("page.todo"),
    mark("page.ended"),
    mark("page.current"),
    mark("page.push_on"),
    mark("page.push_off"),
    mark("page.push_denied"),
    mark("page.push_unsupported"),
    mark("page.push_refused"),
    mark("page.survey_thanks"),
    mark("page.survey_sorry"),
    mark("page.survey_noted"),
    mark("page.survey_failed"),
    mark("page.survey_pick"),
)
PUSH_UI = ("push_on", "push_off", "push_denied", "push_unsupported", "push_refused")
SURVEY_UI = ("survey_thanks", "survey_sorry", "survey_noted", "survey_failed", "survey_pick")
# A push service that never answers (a browser offline, or kept from its push service):
# the page says push is unavailable after this long.
SUBSCRIBE_MS = 30_000
POLL_MS = 5000
MAX_ERRORS = 3  # stream errors without a message before falling back to polling


@dataclass(frozen=True)
class PushOffer:
    """What the page needs to offer push notices on the reader's device: the application
    server's public key (VAPID, base64url), where hooks takes subscriptions, and its service
    worker's URL and scope (every tracking page)."""

    key: str
    url: str
    worker: str = assets.WORKER.url
    scope: str = "/t/"


@dataclass(frozen=True)
class SurveyOffer:
    """The question the page asks once the shipment is delivered (the script shows it then,
    a live page too): where hooks takes the answer, the scale, and whether the shipment's
    page question has its answer already (then the page thanks instead)."""

    url: str  # hooks' /v1/answers/{tracking_id}; its /follow-up takes "What went wrong?"
    scale: int
    answered: bool = False

    @property
    def scores(self) -> range:
        low, high = survey.RANGES[self.scale]
        return range(low, high + 1)


def render(
    tracking: Tracking,
    *,
    lang: str,
    push: PushOffer | None = None,
    survey_offer: SurveyOffer | None = None,
) -> str:
    """The tracking page of a shipment, in `lang` (one of LANGUAGES; others fall back); with
    `push`, and while the shipment is not final, it offers push notices (where the browser
    can have them: the script shows the offer); with `survey_offer`, it asks the survey's
    question once the shipment is delivered."""
    lang = _lang(lang)
    items = _newest_first(tracking.timeline)
    mine = next((i for i in items if i.status == tracking.status), None)
    template = _environment(lang).get_template("page.html")
    return template.render(
        tracking=tracking,
        items=items,
        failure=mine.failure_label if mine and mine.failure_label else "",
        last=max([tracking.status_at, *(i.occurred_at for i in items)], key=_utc),
        kind=KINDS.get(tracking.status, "active"),
        push=push is not None and not tracking.final,
        survey=_asked(tracking, survey_offer),
        config=_config(
            tracking, lang, None if tracking.final else push, _asked(tracking, survey_offer)
        ),
    )


def _asked(tracking: Tracking, offer: SurveyOffer | None) -> SurveyOffer | None:
    """The question, for a shipment that is or may still be delivered."""
    return offer if tracking.status == DELIVERED or not tracking.final else None


def not_found(lang: str, tracking_id: str) -> str:
    """The page for a tracking number no shipment has (to be sent with status 404)."""
    lang = _lang(lang)
    return _environment(lang).get_template("not_found.html").render(tracking_id=tracking_id[:64])


def _config(
    tracking: Tracking, lang: str, push: PushOffer | None, asked: SurveyOffer | None
) -> dict[str, Any]:
    """What page.js reads from the data block."""
    words = UI[lang]
    config: dict[str, Any] = {
        "id": tracking.tracking_id,
        "status": tracking.status,
        "lang": lang,
        "ui": {k: words[k] for k in SCRIPT_UI},
        "ends": ENDS,
        "kinds": KINDS,
        "stepStates": STEP_STATES,
        "hidden": {state: words[key] for state, key in HIDDEN.items()},
        "pollMs": POLL_MS,
        "maxErrors": MAX_ERRORS,
    }
    if push:
        config["push"] = {
            "key": push.key,
            "url": push.url,
            "worker": push.worker,
            "scope": push.scope,
            "subscribeMs": SUBSCRIBE_MS,
            "ui": {k: words[k] for k in PUSH_UI},
        }
    if asked:
        config["survey"] = {
            "url": asked.url,
            "answered": asked.answered,
            "ui": {k.removeprefix("survey_"): words[k] for k in SURVEY_UI},
        }
    return config


@functools.cache
def _environment(lang: str) -> Environment:
    """The pages' environment for `lang` (web.pages), with what the tracking page adds."""
    env = pages.environment("shipnotify.status_api", lang)
    env.globals.update(
        asset_url=lambda source: assets.ASSETS[source].url,
        questions=QUESTION,
        reasons=[(REASON_NAMES[r], REASON[r]) for r in survey.REASONS],
        step_states=STEP_STATES,
        hidden={state: UI[lang][key] for state, key in HIDDEN.items()},
        ends=ENDS,
    )
    env.filters.update(
        utc=_utc,
        iso=lambda t: t.isoformat().replace("+00:00", "Z"),
        place=_place,
    )
    return env


def _place(p: Place | None) -> str:
    return ", ".join(v for v in (p.depot, p.city, p.country_code) if v) if p else ""


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _newest_first(items: Iterable[TimelineItem]) -> list[TimelineItem]:
    return sorted(items, key=lambda i: (_utc(i.occurred_at), _utc(i.recorded_at)), reverse=True)


def _lang(lang: str) -> str:
    return lang if lang in LANGUAGES else DEFAULT
