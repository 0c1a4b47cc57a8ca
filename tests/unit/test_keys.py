"""The Redis key scheme (store/keys.py): a shipment's keys share one Cluster slot, and each
key has one spelling, whichever function names it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from redis.crc import key_slot

from shipnotify.store import keys

NAMED = {
    "state": keys.state_key,
    "timeline": keys.timeline_key,
    "parties": keys.parties_key,
    "updates": keys.updates_channel,
    "pending": keys.pending_key,
    "notices": keys.notices_key,
    "quiet": keys.quiet_key,
}


@given(st.text(min_size=1, max_size=128).filter(lambda s: "}" not in s))
def test_a_shipments_keys_and_channel_share_one_slot(shipment_id: str) -> None:
    every = [*keys.shipment_keys(shipment_id), keys.sending_key(shipment_id)]
    assert len({key_slot(k.encode()) for k in every}) == 1
    assert len(set(every)) == len(every)
    assert all(k.startswith("{shp:" + shipment_id + "}:") for k in every)


def test_the_apply_scripts_order_is_the_named_keys() -> None:
    assert tuple(NAMED) == keys.SHIPMENT_KEY_NAMES
    assert keys.shipment_keys("s-1") == [name("s-1") for name in NAMED.values()]
    assert keys.updates_channel("s-1") == "{shp:s-1}:updates"


def test_keys_of_no_shipment() -> None:
    assert keys.tracking_key("abc") == "trk:abc"
    assert keys.opt_out_key("d1g") == "optout:sms:d1g"
    assert keys.due_key("jobs.v1") == "notifier:due:jobs.v1"
    assert keys.rate_limit_key("203.0.113.7", 29_000_000) == "rl:203.0.113.7:29000000"
    assert keys.rate_limit_key("::1", 5) != keys.rate_limit_key("::1", 6)


@given(st.text(min_size=1, max_size=128).filter(lambda s: "}" not in s))
def test_a_shipments_feedback_keys_share_its_slot(shipment_id: str) -> None:
    """feedback_write.lua writes the three in one call, with the shipment's state it reads."""
    feedback = [
        keys.surveys_key(shipment_id),
        keys.cases_key(shipment_id),
        keys.feedback_applied_key(shipment_id),
        keys.state_key(shipment_id),
    ]
    assert len({key_slot(k.encode()) for k in feedback}) == 1
    assert len(set(feedback)) == len(feedback)
