"""The per-day shipment and notice figures: what one shipment or one notice adds to its day,
and what the summed counts mean (coverage, the tap-to-notice quantiles). No I/O; the store
(store/day_figures.py) writes each part so that it replaces the one written before.

Shipments (the cut "shipments"): a shipment counts as registered on the day its registration
happened, as delivered on the day its delivery happened, and as covered if a courier tapped
a status in the courier app before that: a status event (not the delivery itself) whose
source is the courier app and that happened (occurred_at) before the delivery, even if the
app's offline queue uploaded it later. Coverage is covered / delivered.

Notices (the cut "notices"): each notice whose outcome is final counts on the day it was
planned, as sent (its provider took it) or failed (refused for good, or given up), by
channel; a status notice that went adds its tap-to-notice latency to a histogram of fixed,
log-spaced buckets; an SMS's final delivery receipt counts as received, and as delivered if
it says so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from shipnotify.model.survey_days import day_of
from shipnotify.v1 import feedback_pb2 as fpb
from shipnotify.v1 import shipment_events_pb2 as pb

SHIPMENTS, NOTICES = "shipments", "notices"  # the cuts, each a hash a day (store/keys.py)
REGISTERED, DELIVERED, COVERED = "registered", "delivered", "covered"
CHANNELS = ("sms", "email", "push", "webhook")
CHANNEL_NAMES = dict(
    zip(
        (pb.CHANNEL_SMS, pb.CHANNEL_EMAIL, pb.CHANNEL_PUSH, pb.CHANNEL_WEBHOOK),
        CHANNELS,
        strict=True,
    )
)
# The feedback topic's events of notices, folded into the notices' cut.
NOTICE_EVENTS = frozenset({"notice_settled", "notice_receipt"})
SENT, FAILED = "sent", "failed"
RECEIPTS, RECEIPTS_DELIVERED = "sms|receipts", "sms|delivered"
LATENCY = "lat|"  # a latency bucket's field: "lat|<index>"
# The buckets' upper bounds (ms): doubling from 25 ms to about 55 minutes, then the rest.
BOUNDS_MS = tuple(25 * 2**k for k in range(18))

Part = dict[str, int]  # field -> count


def is_courier_tap(event: pb.ShipmentEvent) -> bool:
    """A status tapped in the courier app, other than the delivery itself."""
    return (
        event.source == pb.SOURCE_COURIER_APP
        and event.WhichOneof("body") == "status_changed"
        and event.status_changed.status != pb.STATUS_DELIVERED
    )


def registration_part(occurred_at_ms: int, zone: ZoneInfo) -> tuple[date, Part]:
    return day_of(occurred_at_ms, zone).date(), {REGISTERED: 1}


def delivery_part(
    delivered_at_ms: int, first_tap_ms: int | None, zone: ZoneInfo
) -> tuple[date, Part]:
    """A delivered shipment's part: delivered, and covered if its earliest courier tap
    happened before the delivery."""
    covered = first_tap_ms is not None and first_tap_ms < delivered_at_ms
    return day_of(delivered_at_ms, zone).date(), {DELIVERED: 1, COVERED: int(covered)}


def bucket(latency_ms: int) -> int:
    """The latency's bucket: the first whose upper bound it does not pass; past the last
    bound, one more."""
    for i, bound in enumerate(BOUNDS_MS):
        if latency_ms <= bound:
            return i
    return len(BOUNDS_MS)


def notice_part(channel: str, outcome: str, latency_ms: int | None) -> Part:
    """A final notice's part: sent or failed on its channel; a status notice that went, its
    latency's bucket too."""
    part = {f"{channel}|{outcome}": 1}
    if latency_ms is not None and outcome == SENT:
        part[f"{LATENCY}{bucket(max(0, latency_ms))}"] = 1
    return part


def receipt_part(delivered: bool) -> Part:
    return {RECEIPTS: 1, RECEIPTS_DELIVERED: int(delivered)}


@dataclass(frozen=True)
class NoticePart:
    """What a notice's feedback event adds: under `member` (its notification id; "r:" and it
    for its receipt, which a later receipt replaces), on the day it was planned, for the
    account it names ("": the shipment's owner)."""

    member: str
    planned_ms: int
    part: Part
    account: str


def notice_event_part(event: fpb.FeedbackEvent) -> NoticePart:
    """A NoticeSettled's or NoticeReceipt's part (the codec checked its fields)."""
    if event.WhichOneof("body") == "notice_receipt":
        receipt = event.notice_receipt
        planned = receipt.planned_at.ToMilliseconds()
        return NoticePart(
            "r:" + receipt.notification_id, planned, receipt_part(receipt.delivered), ""
        )
    settled = event.notice_settled
    latency = settled.tap_to_notice_ms if settled.HasField("tap_to_notice_ms") else None
    part = notice_part(CHANNEL_NAMES[settled.channel], SENT if settled.sent else FAILED, latency)
    return NoticePart(
        settled.notification_id, settled.planned_at.ToMilliseconds(), part, settled.account_id
    )


def summed(hashes: Iterable[Mapping[Any, Any]], minus: Iterable[Mapping[Any, Any]] = ()) -> Part:
    """Hashes' counts as Redis answers them (names and counts as bytes or str), added, less
    those of `minus`."""
    found: Part = {}
    for sign, group in ((1, hashes), (-1, minus)):
        for counts in group:
            for raw, n in counts.items():
                name = raw.decode() if isinstance(raw, bytes) else str(raw)
                found[name] = found.get(name, 0) + sign * int(n)
    return found


@dataclass(frozen=True)
class Ratio:
    part: int
    whole: int

    @property
    def percent(self) -> float | None:
        return 100.0 * self.part / self.whole if self.whole else None


def coverage(counts: Mapping[str, int]) -> Ratio:
    """Covered / delivered."""
    return Ratio(counts.get(COVERED, 0), counts.get(DELIVERED, 0))


def latencies(counts: Mapping[str, int]) -> list[int]:
    """The histogram's counts, bucket by bucket (the last: past every bound)."""
    return [max(0, counts.get(f"{LATENCY}{i}", 0)) for i in range(len(BOUNDS_MS) + 1)]


def quantile(histogram: Sequence[int], q: float) -> float | None:
    """The q-quantile (0 < q < 1) of a latency histogram, in ms: found in its bucket, placed
    within it as if the latencies were spread evenly on a log scale between the bucket's
    bounds (the first bucket's lower bound: half its upper). In the last bucket, past every
    bound, its lower bound: at least that. None without latencies."""
    n = sum(histogram)
    if not n:
        return None
    rank = q * n
    seen = 0
    for i, k in enumerate(histogram):
        if k and seen + k >= rank:
            if i >= len(BOUNDS_MS):
                return float(BOUNDS_MS[-1])
            upper = BOUNDS_MS[i]
            lower = BOUNDS_MS[i - 1] if i else upper / 2
            within = (rank - seen) / k
            return math.exp(math.log(lower) + within * (math.log(upper) - math.log(lower)))
        seen += k
    return float(BOUNDS_MS[-1])


def by_channel(counts: Mapping[str, int]) -> dict[str, tuple[int, int]]:
    """(sent, failed) for each channel."""
    return {c: (counts.get(f"{c}|{SENT}", 0), counts.get(f"{c}|{FAILED}", 0)) for c in CHANNELS}


def sms_receipts(counts: Mapping[str, int]) -> Ratio:
    """SMS delivered / SMS with a final delivery receipt."""
    return Ratio(counts.get(RECEIPTS_DELIVERED, 0), counts.get(RECEIPTS, 0))
