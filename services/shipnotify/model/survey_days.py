"""A survey's part of the per-day satisfaction figures, and those figures read back. No I/O.

A survey counts on the day, weekday and hour its shipment was delivered, in the carrier's
time zone, in each cut the console shows: all answers, by depot, courier, channel, party,
weekday x hour, and the reasons of unhappy answers. A cell keeps how many answers gave each
score (so the thresholds of good and bad can change without counting again), how many were
unhappy by the rules in force when answered, and how many surveys were sent. The store
(store/survey_days.py) writes a survey's part so that a later answer replaces its earlier one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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
    signed = [*((1, h) for h in hashes), *((-1, h) for h in minus)]
    summed: Mapping[Any, Any] = signed[0][1] if len(signed) == 1 and signed[0][0] == 1 else {}
    if not summed:
        added: dict[Any, int] = {}
        for sign, counts in signed:
            for name, n in counts.items():
                added[name] = added.get(name, 0) + sign * int(n)
        summed = added
    found: dict[str, Cell] = {}
    names, prefix = _NAMES, str(scale)
    if len(names) > _MAX_NAMES:
        names.clear()
    for raw, count in summed.items():
        n = int(count)
        if not n:
            continue
        named = names.get(raw)
        if named is None:
            named = names[raw] = _named(raw)
        if named[0] != prefix:
            continue
        cell = found.get(named[1])
        if cell is None:
            cell = found[named[1]] = Cell({})
        measure = named[2]
        if isinstance(measure, int):
            cell.scores[measure] = cell.scores.get(measure, 0) + n
        elif measure == SENT:
            cell.sent += n
        else:
            cell.unhappy += n
    return found


# Fields' names as read (a year's page reads the same few thousand on every request), kept
# up to a bound: what they name costs more to work out than to look up.
_NAMES: dict[Any, tuple[str, str, int | str]] = {}
_MAX_NAMES = 200_000


def _named(raw: Any) -> tuple[str, str, int | str]:
    """A field's scale, cell and measure (a score, SENT or UNHAPPY); no scale if none."""
    name = raw.decode() if isinstance(raw, bytes) else raw
    parts = name.split("|", 2)
    if len(parts) != 3:
        return ("", "", "")
    scale, cell, measure = parts
    if measure in (SENT, UNHAPPY):
        return (scale, cell, measure)
    return (scale, cell, int(measure)) if measure.isascii() and measure.isdigit() else ("", "", "")


def combined(parts: Sequence[tuple[int, Mapping[str, Cell]]]) -> dict[str, Cell]:
    """Cells already read, each set added (1) or taken away (-1): what `cells` gives for
    their hashes read together (a measure that sums to 0 left out, a cell of none gone), so
    that a sum read once (a settled month's) need not be read again with the days beside."""
    if len(parts) == 1 and parts[0][0] == 1:
        return dict(parts[0][1])
    found: dict[str, Cell] = {}
    for sign, group in parts:
        for name, cell in group.items():
            into = found.get(name)
            if into is None:
                into = found[name] = Cell({})
            into.sent += sign * cell.sent
            into.unhappy += sign * cell.unhappy
            for score, n in cell.scores.items():
                into.scores[score] = into.scores.get(score, 0) + sign * n
    for name in list(found):
        cell = found[name]
        if any(not n for n in cell.scores.values()):
            cell.scores = {score: n for score, n in cell.scores.items() if n}
        if not (cell.scores or cell.sent or cell.unhappy):
            del found[name]
    return found
