"""The post-delivery question and its call-back loop, as pure rules: the scales and which
scores are unhappy, who is asked and when, how a reply reads, when a case falls due, and
the ids that make every survey, answer and case once-only. No I/O here."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from datetime import datetime, time, timedelta

from shipnotify.model.quiet import zone_of
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import survey_pb2 as spb

# The lowest and highest score of each scale; high is good on all three.
RANGES: Mapping[int, tuple[int, int]] = {
    spb.SCALE_CSAT: (1, 5),
    spb.SCALE_NPS: (0, 10),
    spb.SCALE_CES: (1, 7),
}
SCALE_NAMES: Mapping[str, int] = {
    "csat": spb.SCALE_CSAT,
    "nps": spb.SCALE_NPS,
    "ces": spb.SCALE_CES,
}
# The follow-up's reasons, in the order they are offered (an SMS reply names one by its place).
REASONS = (
    spb.REASON_LATE,
    spb.REASON_NOT_INFORMED,
    spb.REASON_DAMAGED,
    spb.REASON_COURIER_MANNER,
    spb.REASON_MISSED_DELIVERY,
    spb.REASON_OTHER,
)
MAX_COMMENT = 500
_NAMESPACE = uuid.UUID("5b0b8f7e-64a4-4d0c-9a57-3f1d5e0c2a11")


@dataclass(frozen=True)
class Depot:
    name: str
    supervisor: str  # an email address
    time_zone: str
    closes: time  # the end of its working day, local


@dataclass(frozen=True)
class Rules:
    """The survey settings in force (Settings.survey_rules() makes them)."""

    scale: int = spb.SCALE_CSAT
    unhappy: Mapping[int, tuple[int, int]] = dataclass_field(
        default_factory=lambda: {
            spb.SCALE_CSAT: (1, 2),
            spb.SCALE_NPS: (0, 6),
            spb.SCALE_CES: (1, 3),
        }
    )
    delay: timedelta = timedelta(hours=2)
    every_days: int = 30
    answer_days: int = 7
    depots: Mapping[str, Depot] = dataclass_field(default_factory=dict)
    callback_hours: float = 0

    def is_unhappy(self, scale: int, score: int) -> bool:
        return is_unhappy(score, self.unhappy[scale])


def for_account(rules: Rules, settings: apb.SurveySettings | None) -> Rules | None:
    """The rules a business customer's shipment is asked by: its account's settings over
    the carrier's (a scale, a delay); None when the account turned the survey off."""
    if settings is None:
        return rules
    if settings.off:
        return None
    changed = rules
    if settings.scale != spb.SCALE_UNSPECIFIED:
        changed = replace(changed, scale=settings.scale)
    if settings.HasField("delay_s"):
        changed = replace(changed, delay=timedelta(seconds=settings.delay_s))
    return changed


# ---- scales and thresholds ----


def parse_range(text: str, scale: int) -> tuple[int, int]:
    """ "1-2" -> (1, 2), within the scale's own range; the settings check the unhappy
    ranges with this at start-up."""
    low, high = RANGES[scale]
    start, sep, end = text.partition("-")
    try:
        first, last = int(start), int(end if sep else start)
    except ValueError:
        raise ValueError(f"should be a range of scores such as {low}-{low + 1}") from None
    if not low <= first <= last <= high:
        raise ValueError(f"should lie within {low}-{high}, the lower score first")
    return first, last


def in_scale(scale: int, score: int) -> bool:
    low, high = RANGES[scale]
    return low <= score <= high


def is_unhappy(score: int, unhappy: tuple[int, int]) -> bool:
    return unhappy[0] <= score <= unhappy[1]


# ---- reading replies ----

_NUMBER = re.compile(r"(?<![\d.,])(\d{1,2})(?![\d.,]*\d)")


def read_score(text: str, scale: int) -> int | None:
    """The score an SMS reply gives ("4", "4 thanks", "I'd say 2", "10!"), or None when it
    gives none or more than one, or one off the scale: then the reply cannot be read."""
    found = {int(n) for n in _NUMBER.findall(text)}
    if len(found) != 1:
        return None
    score = found.pop()
    return score if in_scale(scale, score) else None


def read_reason(text: str) -> tuple[int, str]:
    """A reply to "What went wrong?": a reason by its number (and any words after it), or
    words alone, which are kept as REASON_OTHER's comment."""
    words = " ".join(text.split())
    match = re.fullmatch(r"(\d)\b[\s.,:;)-]*(.*)", words)
    if match and 1 <= int(match[1]) <= len(REASONS):
        return REASONS[int(match[1]) - 1], match[2][:MAX_COMMENT]
    return spb.REASON_OTHER, words[:MAX_COMMENT]


# ---- call-back cases ----


def parse_depots(text: str) -> dict[str, Depot]:
    """ "north=a@x.example Europe/Chisinau 18:00; *=b@x.example UTC 17:00" -> the depots by
    name; "*" stands for every depot not named. The settings check SHIPNOTIFY_DEPOTS with
    this at start-up."""
    depots = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, _, rest = part.partition("=")
        fields = rest.split()
        if not name.strip() or len(fields) != 3 or "@" not in fields[0]:
            raise ValueError(
                f"{part!r} should be name=supervisor@address Time/Zone HH:MM,"
                " depots separated by ';'"
            )
        if zone_of(fields[1]).key != fields[1]:
            raise ValueError(f"{fields[1]!r} is not a time zone this machine knows")
        try:
            closes = datetime.strptime(fields[2], "%H:%M").time()
        except ValueError:
            raise ValueError(f"{fields[2]!r} should be HH:MM on a 24-hour clock") from None
        depots[name.strip()] = Depot(name.strip(), fields[0], fields[1], closes)
    return depots


def depot_of(depots: Mapping[str, Depot], name: str) -> Depot | None:
    return depots.get(name) or depots.get("*")


def case_due(opened_at: datetime, depot: Depot | None, callback_hours: float) -> datetime:
    """When a call-back is due: `callback_hours` after it opened when set; else the end of
    the depot's working day, the next day's if it opened within the last hour of this
    one (nobody can call back in ten minutes); with no depot known, 8 hours."""
    if callback_hours > 0:
        return opened_at + timedelta(hours=callback_hours)
    if depot is None:
        return opened_at + timedelta(hours=8)
    zone = zone_of(depot.time_zone)
    local = opened_at.astimezone(zone)
    end = datetime.combine(local.date(), depot.closes, tzinfo=zone)
    if end - local < timedelta(hours=1):
        end = datetime.combine(local.date() + timedelta(days=1), depot.closes, tzinfo=zone)
    return end


# ---- ids and links ----


def survey_id(delivered_event_id: str, party: int) -> str:
    """One survey per party per delivery: a redelivered event plans the same one."""
    return str(uuid.uuid5(_NAMESPACE, f"survey:{delivered_event_id}:{party}"))


def page_survey_id(shipment_id: str) -> str:
    """The tracking page's question: one per shipment, whoever answers it."""
    return str(uuid.uuid5(_NAMESPACE, f"page:{shipment_id}"))


def case_id(survey: str) -> str:
    """One call-back case per survey, whichever of its answers opened it."""
    return str(uuid.uuid5(_NAMESPACE, f"case:{survey}"))


def notice_id(key: str, kind: str) -> str:
    """The id of a survey-loop notice (`kind`: survey, follow_up, apology, alert) of a survey
    or a case: the same on every redelivery, so each is sent once."""
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{key}"))


def feedback_event_id(*parts: str) -> str:
    """A feedback event's id from what identifies it: ("sent", notification id) for a
    SurveySent; an answer's from its message (("sms", the provider's message id), the landing
    page form's nonce); ("case", the answer's event id) for the case it opens. A retried send
    or POST appends the same event, applied once."""
    return str(uuid.uuid5(_NAMESPACE, "feedback:" + ":".join(parts)))


def survey_token(secret: str, shipment_id: str, survey: str) -> str:
    """The survey email's link token: which survey, signed, so that nobody answers
    another's survey by guessing. url-safe."""
    body = f"{shipment_id}/{survey}".encode()
    mac = hmac.new(secret.encode(), b"survey:" + body, hashlib.sha256).digest()[:12]
    return _b64(body) + "." + _b64(mac)


def read_token(secret: str, token: str) -> tuple[str, str] | None:
    """(shipment id, survey id) of a genuine token; None for any other text."""
    body_text, _, mac_text = token.partition(".")
    try:
        body, mac = _unb64(body_text), _unb64(mac_text)
    except ValueError:
        return None
    expected = hmac.new(secret.encode(), b"survey:" + body, hashlib.sha256).digest()[:12]
    if not hmac.compare_digest(mac, expected):
        return None
    shipment_id, _, survey = body.decode(errors="replace").rpartition("/")
    return (shipment_id, survey) if shipment_id and survey else None


def survey_link(base_url: str, token: str, score: int) -> str:
    """A score's link in the survey email: it opens the landing page with the score chosen;
    only the page's POST records it (mail scanners open every link)."""
    return f"{base_url.rstrip('/')}/s/{token}?score={score}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as e:
        raise ValueError(str(e)) from None
