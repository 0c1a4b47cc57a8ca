"""The shipments page's pure parts: its filters from a query (each problem named by its field,
a member's own account whatever is asked) and what the tracker writes to the lists of an
account's shipments for an applied event (store/shipment_list.py)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from shipnotify.console.shipment_filters import cursor_text, shipment_filters
from shipnotify.store.keys import shipments_key
from shipnotify.store.shipment_list import Listing, Move, listing_for, moves, touched
from shipnotify.store.tracking import Applied
from shipnotify.v1 import shipment_events_pb2 as pb

ZONE = ZoneInfo("Europe/Chisinau")


def test_no_query_is_every_shipment_of_the_viewers_choice() -> None:
    chosen = shipment_filters({}, own_account="")
    assert (chosen.account, chosen.status, chosen.first, chosen.last) == ("", "", None, None)
    assert (chosen.search, chosen.after, chosen.problems) == ("", None, {})
    assert chosen.bounds(ZONE) == (0, 2**53)


def test_a_members_account_is_their_own_whatever_is_asked() -> None:
    assert shipment_filters({"account": "acct_b"}, own_account="acct_a").account == "acct_a"
    assert shipment_filters({"account": "acct_b"}, own_account="").account == "acct_b"
    bad = shipment_filters({"account": "a b"}, own_account="")
    assert (bad.account, bad.problems) == ("", {"account": "console.bad_account"})


def test_the_days_of_registration_are_the_carriers_days_both_in() -> None:
    chosen = shipment_filters({"from": "2026-03-01", "to": "2026-03-02"}, own_account="")
    assert (chosen.first, chosen.last) == (date(2026, 3, 1), date(2026, 3, 2))
    low, high = chosen.bounds(ZONE)
    assert low == 1772316000000  # 2026-03-01 00:00 in Chisinau (UTC+2)
    assert high == 1772488800000 - 1  # the end of the 2nd


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ({"status": "lost"}, {"status": "console.shipments.problem.status"}),
        ({"from": "1 March"}, {"from": "console.bad_date"}),
        ({"from": "2026-03-02", "to": "2026-03-01"}, {"to": "console.to_before_from"}),
        ({"q": "x' OR 1=1"}, {"q": "console.shipments.problem.search"}),
        ({"q": "x" * 129}, {"q": "console.shipments.problem.search"}),
        ({"after": "yesterday"}, {"after": "console.shipments.problem.after"}),
    ],
)
def test_a_bad_filter_is_named_by_its_field_and_left_out(
    query: dict[str, str], problem: dict[str, str]
) -> None:
    chosen = shipment_filters(query, own_account="")
    assert chosen.problems == problem
    assert (chosen.status, chosen.first, chosen.last, chosen.search, chosen.after) == (
        "",
        None,
        None,
        "",
        None,
    )


def test_a_status_a_search_and_a_page_are_taken() -> None:
    chosen = shipment_filters(
        {"status": "delivered", "q": " trk-123 ", "after": "1772316000000~s:1.a-b"},
        own_account="",
    )
    assert (chosen.status, chosen.search) == ("delivered", "trk-123")
    assert chosen.after == (1772316000000, "s:1.a-b")
    assert cursor_text(chosen.after) == "1772316000000~s:1.a-b"
    assert chosen.query() == {
        "account": "",
        "status": "delivered",
        "from": "",
        "to": "",
        "q": "trk-123",
    }


# -- the lists


def test_a_registration_lists_the_shipment_in_every_and_its_accounts_status_sets() -> None:
    new = listing_for(old=None, registered_ms=1000, owner="acct_a", status="registered")
    assert new == Listing("acct_a", 1000, "registered")
    assert moves(None, new) == [
        Move(shipments_key("", "registered"), add=True, score=1000),
        Move(shipments_key("acct_a", "registered"), add=True, score=1000),
    ]
    assert shipments_key("acct_a", "registered") == "shipments:acct:acct_a:registered"
    assert shipments_key("", "delivered") == "shipments:all:delivered"


def test_the_carriers_own_shipment_is_in_every_shipments_sets_alone() -> None:
    new = listing_for(old=None, registered_ms=5, owner="", status="registered")
    assert [m.key for m in moves(None, new)] == ["shipments:all:registered"]


def test_a_status_change_moves_it_between_status_sets_and_keeps_its_time() -> None:
    old = Listing("acct_a", 1000, "registered")
    new = listing_for(old=old, registered_ms=None, owner="acct_a", status="picked_up")
    assert new == Listing("acct_a", 1000, "picked_up")
    done = moves(old, new)
    assert [m for m in done if not m.add] == [
        Move("shipments:all:registered", add=False),
        Move("shipments:acct:acct_a:registered", add=False),
    ]
    assert [m for m in done if m.add] == [
        Move("shipments:all:picked_up", add=True, score=1000),
        Move("shipments:acct:acct_a:picked_up", add=True, score=1000),
    ]


def test_a_redelivered_event_that_changes_nothing_writes_nothing() -> None:
    old = Listing("acct_a", 1000, "picked_up")
    again = listing_for(old=old, registered_ms=1000, owner="acct_a", status="picked_up")
    assert again == old
    assert moves(old, again) == []


def test_taps_before_the_registration_list_nothing_until_it_comes() -> None:
    assert listing_for(old=None, registered_ms=None, owner="acct_a", status="picked_up") is None
    late = listing_for(old=None, registered_ms=900, owner="acct_a", status="picked_up")
    assert late == Listing("acct_a", 900, "picked_up")  # under the status it has now


def test_a_shipment_whose_state_is_gone_leaves_every_set() -> None:
    old = Listing("acct_a", 1000, "delivered")
    assert listing_for(old=old, registered_ms=None, owner="acct_a", status="") is None
    assert {m.key for m in moves(old, None)} == {
        "shipments:all:delivered",
        "shipments:acct:acct_a:delivered",
    }
    assert not any(m.add for m in moves(old, None))


def test_a_listing_reads_back_as_written() -> None:
    for listing in (Listing("acct_a", 1, "delivered"), Listing("", 2, "registered")):
        assert Listing.decode(listing.encode().encode()) == listing
    assert Listing.decode(None) is None


def _applied(event: pb.ShipmentEvent, *, conflict: bool = False) -> Applied:
    return Applied(
        event=event, duplicate=False, advanced=True, previous=None, version=1, conflict=conflict
    )


def test_the_shipments_a_batch_touches_with_their_registrations_time() -> None:
    registered = pb.ShipmentEvent(event_id="e1", shipment_id="s1")
    registered.occurred_at.FromMilliseconds(1234)
    registered.registered.tracking_id = "t1"
    tapped = pb.ShipmentEvent(event_id="e2", shipment_id="s1")
    tapped.status_changed.status = pb.STATUS_PICKED_UP
    other = pb.ShipmentEvent(event_id="e3", shipment_id="s2")
    other.status_changed.status = pb.STATUS_PICKED_UP
    conflict = pb.ShipmentEvent(event_id="e4", shipment_id="s3")
    conflict.status_changed.status = pb.STATUS_PICKED_UP
    assigned = pb.ShipmentEvent(event_id="e5", shipment_id="s4")
    assigned.courier_assigned.courier_id = "c1"
    batch = [
        _applied(tapped),
        _applied(registered),
        _applied(other),
        _applied(conflict, conflict=True),
        _applied(assigned),
    ]
    assert touched(batch) == {"s1": 1234, "s2": None}
