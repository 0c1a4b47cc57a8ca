"""A shipment's and a notice's part of the per-day figures, and what the sums mean: coverage,
the tap-to-notice latency's buckets and quantiles (model/day_figures.py)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from shipnotify.model import day_figures as f
from shipnotify.v1 import feedback_pb2 as fpb
from shipnotify.v1 import shipment_events_pb2 as pb

ZONE = ZoneInfo("Europe/Chisinau")


def ms(year: int, month: int, day: int, hour: int, minute: int) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=ZONE).timestamp() * 1000)


def tap(status: pb.Status, source: pb.Source = pb.SOURCE_COURIER_APP) -> pb.ShipmentEvent:
    return pb.ShipmentEvent(
        event_id="e", shipment_id="s", source=source, status_changed=pb.StatusChanged(status=status)
    )


def test_a_courier_tap_is_a_status_from_the_courier_app_other_than_the_delivery() -> None:
    assert f.is_courier_tap(tap(pb.STATUS_PICKED_UP))
    assert f.is_courier_tap(tap(pb.STATUS_DELIVERY_ATTEMPTED))
    assert not f.is_courier_tap(tap(pb.STATUS_DELIVERED))  # the delivery itself covers nothing
    assert not f.is_courier_tap(tap(pb.STATUS_PICKED_UP, pb.SOURCE_ORDER_SYSTEM))
    assert not f.is_courier_tap(tap(pb.STATUS_CONFIRMED, pb.SOURCE_OPERATOR))
    registered = pb.ShipmentEvent(source=pb.SOURCE_COURIER_APP)
    registered.registered.tracking_id = "t"
    assert not f.is_courier_tap(registered)


def test_a_registration_counts_on_its_day_in_the_carriers_time_zone() -> None:
    # 23:30 in Chisinau is 21:30 UTC of the same day; 00:30 is the day before in UTC
    assert f.registration_part(ms(2026, 11, 27, 23, 30), ZONE) == (
        date(2026, 11, 27),
        {"registered": 1},
    )
    assert f.registration_part(ms(2026, 11, 28, 0, 30), ZONE)[0] == date(2026, 11, 28)


def test_a_delivery_is_covered_by_a_courier_tap_that_happened_before_it() -> None:
    delivered = ms(2026, 11, 27, 16, 0)
    day, part = f.delivery_part(delivered, ms(2026, 11, 27, 9, 0), ZONE)
    assert (day, part) == (date(2026, 11, 27), {"delivered": 1, "covered": 1})
    assert f.delivery_part(delivered, None, ZONE)[1] == {"delivered": 1, "covered": 0}
    # a tap after the delivery (or at its very moment) covers nothing
    assert f.delivery_part(delivered, delivered, ZONE)[1]["covered"] == 0
    assert f.delivery_part(delivered, delivered + 60_000, ZONE)[1]["covered"] == 0


def test_coverage_is_covered_over_delivered() -> None:
    counts = f.summed(
        [{b"delivered": b"3", b"covered": b"2"}, {"delivered": "1", "covered": "1"}],
        minus=[{b"delivered": b"1"}],
    )
    assert counts == {"delivered": 3, "covered": 3}
    assert f.coverage({"delivered": 4, "covered": 3}).percent == 75.0
    assert f.coverage({}).percent is None  # nothing delivered: no figure, not 0 %


def test_the_latency_buckets_double_from_25_ms() -> None:
    assert f.BOUNDS_MS[:4] == (25, 50, 100, 200)
    assert f.bucket(0) == 0
    assert f.bucket(25) == 0
    assert f.bucket(26) == 1
    assert f.bucket(1_000) == 6  # 800 < 1000 <= 1600
    assert f.bucket(f.BOUNDS_MS[-1]) == len(f.BOUNDS_MS) - 1
    assert f.bucket(10 * 3_600_000) == len(f.BOUNDS_MS)  # past every bound


def test_a_notice_counts_sent_or_failed_and_a_status_notice_its_latency() -> None:
    assert f.notice_part("sms", f.SENT, 300) == {"sms|sent": 1, "lat|4": 1}
    assert f.notice_part("email", f.SENT, None) == {"email|sent": 1}  # a survey: no latency
    assert f.notice_part("push", f.FAILED, 300) == {"push|failed": 1}
    assert f.receipt_part(True) == {"sms|receipts": 1, "sms|delivered": 1}
    assert f.receipt_part(False) == {"sms|receipts": 1, "sms|delivered": 0}
    counts = {"sms|sent": 5, "sms|failed": 1, "webhook|sent": 2, "sms|receipts": 4}
    assert f.by_channel(counts) == {
        "sms": (5, 1),
        "email": (0, 0),
        "push": (0, 0),
        "webhook": (2, 0),
    }
    assert f.sms_receipts(counts | {"sms|delivered": 3}).percent == 75.0


def test_quantiles_are_read_within_their_bucket_on_a_log_scale() -> None:
    assert f.quantile([0] * (len(f.BOUNDS_MS) + 1), 0.5) is None
    one = f.latencies({f"lat|{f.bucket(300)}": 1})  # 200 < 300 <= 400
    assert 200 <= (f.quantile(one, 0.5) or 0) <= 400
    # 90 notices within 100 ms, 10 between 1.6 and 3.2 s
    counts = {"lat|2": 90, "lat|7": 10}
    histogram = f.latencies(counts)
    p50, p95 = f.quantile(histogram, 0.5), f.quantile(histogram, 0.95)
    assert p50 is not None
    assert 50 < p50 <= 100
    assert p50 == pytest.approx(50 * 2 ** (50 / 90))  # the 50th of 90, up the bucket (log)
    assert p95 is not None
    assert 1_600 < p95 <= 3_200
    assert p95 == pytest.approx(1_600 * 2**0.5)
    # the first bucket's lower bound is half its upper; the last's, past every bound, is all
    assert f.quantile(f.latencies({"lat|0": 2}), 0.5) == pytest.approx(12.5 * 2**0.5)
    assert f.quantile(f.latencies({f"lat|{len(f.BOUNDS_MS)}": 3}), 0.5) == f.BOUNDS_MS[-1]
    # every quantile lies within the bounds of the latencies seen
    assert all(25 < (f.quantile(histogram, q) or 0) <= 3_200 for q in (0.01, 0.25, 0.5, 0.9, 0.99))


def settled(
    channel: pb.Channel, *, sent: bool, latency_ms: int | None, account: str = ""
) -> fpb.FeedbackEvent:
    notice = fpb.NoticeSettled(
        notification_id="n-1", channel=channel, sent=sent, account_id=account
    )
    notice.planned_at.FromMilliseconds(ms(2026, 3, 1, 9, 0))
    if latency_ms is not None:
        notice.tap_to_notice_ms = latency_ms
    return fpb.FeedbackEvent(event_id="e", shipment_id="s", notice_settled=notice)


def test_a_notices_outcome_counts_on_its_channel_on_the_day_it_was_planned() -> None:
    went = f.notice_event_part(settled(pb.CHANNEL_SMS, sent=True, latency_ms=300))
    assert went == f.NoticePart(
        "n-1", ms(2026, 3, 1, 9, 0), {"sms|sent": 1, f"{f.LATENCY}{f.bucket(300)}": 1}, ""
    )
    hook = f.notice_event_part(
        settled(pb.CHANNEL_WEBHOOK, sent=False, latency_ms=None, account="a")
    )
    assert (hook.part, hook.account) == ({"webhook|failed": 1}, "a")
    # a latency only of a notice that went
    failed = f.notice_event_part(settled(pb.CHANNEL_EMAIL, sent=False, latency_ms=300))
    assert failed.part == {"email|failed": 1}


def test_an_sms_receipt_counts_under_its_own_member_so_a_later_one_replaces_it() -> None:
    receipt = fpb.NoticeReceipt(notification_id="n-1", delivered=False)
    receipt.planned_at.FromMilliseconds(ms(2026, 3, 1, 23, 59))
    part = f.notice_event_part(fpb.FeedbackEvent(shipment_id="s", notice_receipt=receipt))
    assert part == f.NoticePart(
        "r:n-1", ms(2026, 3, 1, 23, 59), {f.RECEIPTS: 1, f.RECEIPTS_DELIVERED: 0}, ""
    )
