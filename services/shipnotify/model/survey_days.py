"""A survey's part of the per-day satisfaction figures, and those figures read back. No I/O.

A survey counts on the day, weekday and hour its shipment was delivered, in the carrier's
time zone, in each cut the console shows: all answers, by depot, courier, channel, party,
weekday x hour, and the reasons of unhappy answers. A cell keeps how many answers gave each
score (so the thresholds of good and bad can change without counting again), how many were
unhappy by the rules in force when answered, and how many surveys were sent. The store
(store/survey_days.py) writes a survey's part so that a later answer replaces its earlier one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb

# The cuts, each a hash a day (store/keys.py): its cells are named by `_cells`.
CUTS = ("all", "depot", "courier", "channel", "party", "hour", "reason")
ALL = "*"  # the one cell of "all"
UNKNOWN = "-"  # a depot or courier nobody named
SENT, UNHAPPY = "s", "u"  # a cell's measures beside its scores


@dataclass(frozen=True)
class SurveyFact:
    """What the figures need of one survey as it now stands."""

    survey_id: str
    delivered_at_ms: int
    party: int  # PartyRole
    channel: str  # "sms", "email" or "page" (the tracking page's question, never sent)
    scale: int
    sent: bool
    score: int | None  # its current answer's, None while unanswered
    unhappy: bool
    reason: int  # the follow-up's Reason, 0 without one
    depot: str
    courier: str
    account: str  # "" for the carrier's own shipments


def channel_name(channel: int) -> str:
    names: dict[int, str] = {pb.CHANNEL_SMS: "sms", pb.CHANNEL_EMAIL: "email"}
    return names.get(channel, "page")


def party_name(party: int) -> str:
    names: dict[int, str] = {npb.PARTY_ROLE_SENDER: "sender", npb.PARTY_ROLE_RECIPIENT: "recipient"}
    return names.get(party, UNKNOWN)  # the tracking page's question: whoever visits it


def day_of(at_ms: int, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(at_ms / 1000, UTC).astimezone(zone)


Part = dict[str, dict[str, int]]  # cut -> field -> count


def part(fact: SurveyFact, zone: ZoneInfo) -> tuple[date, Part]:
    """The day a survey counts on and what it adds to each cut's hash there."""
    when = day_of(fact.delivered_at_ms, zone)
    cells = {
        "all": ALL,
        "depot": fact.depot or UNKNOWN,
        "courier": fact.courier or UNKNOWN,
        "channel": fact.channel,
        "party": party_name(fact.party),
        "hour": f"{when.weekday()}:{when.hour}",
    }
    counts: Part = {}
    for cut, cell in cells.items():
        fields = counts.setdefault(cut, {})
        if fact.sent:
            fields[field(fact.scale, cell, SENT)] = 1
        if fact.score is not None:
            fields[field(fact.scale, cell, str(fact.score))] = 1
            if fact.unhappy:
                fields[field(fact.scale, cell, UNHAPPY)] = 1
    if fact.score is not None and fact.unhappy and fact.reason:
        counts["reason"] = {field(fact.scale, str(fact.reason), UNHAPPY): 1}
    return when.date(), {cut: fields for cut, fields in counts.items() if fields}


def field(scale: int, cell: str, measure: str) -> str:
    # "|" cannot be in a cell: depots and courier ids are checked names (no "|" allowed)
    return f"{scale}|{cell.replace('|', '/')}|{measure}"


@dataclass
class Cell:
    """A cell's counts over the days read: answers by score, unhappy answers, surveys sent."""

    scores: dict[int, int]
    unhappy: int = 0
    sent: int = 0

    @property
    def answers(self) -> int:
        return sum(self.scores.values())


def cells(
    hashes: Iterable[Mapping[Any, Any]], scale: int, *, minus: Iterable[Mapping[Any, Any]] = ()
) -> dict[str, Cell]:
    """One cut's cells for one scale: the sum of its hashes (days or months) less those of
    `minus` (a month's days out of the period). Redis's replies as they come (names and
    counts as bytes or str); each distinct name read once, as hashes repeat the same names."""
    summed: dict[Any, int] = {}
    for sign, group in ((1, hashes), (-1, minus)):
        for counts in group:
            for name, n in counts.items():
                summed[name] = summed.get(name, 0) + sign * int(n)
    found: dict[str, Cell] = {}
    prefix = f"{scale}|"
    for raw, n in summed.items():
        name = raw.decode() if isinstance(raw, bytes) else raw
        if not n or not name.startswith(prefix):
            continue
        _, cell_name, measure = name.split("|", 2)
        cell = found.setdefault(cell_name, Cell({}))
        if measure == SENT:
            cell.sent += n
        elif measure == UNHAPPY:
            cell.unhappy += n
        else:
            cell.scores[int(measure)] = cell.scores.get(int(measure), 0) + n
    return found
