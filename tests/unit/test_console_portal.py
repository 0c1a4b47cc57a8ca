"""The console's webhooks and team pages without I/O: the team form's rows made into the
account API's team event (a member changed, one added, one removed), each bad field named by
its row, the replay form checked as the API checks it (its time in the carrier's zone), and
the delivery log's rows."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from shipnotify.console import team, webhooks
from shipnotify.console.account_choice import account_of
from shipnotify.console.sessions import Viewer
from shipnotify.store.accounts import AccountState, changes
from shipnotify.store.webhooks import Try, try_of
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.web import ApiError
from shipnotify.web.account_changes import Replay, team_set, webhooks_replayed

ZONE = ZoneInfo("Europe/Chisinau")
DANA = apb.TeamMember(
    name="Dana",
    role="logistics",
    email="dana@shop.example",
    phone="+37369123456",
    locale="ro",
    time_zone="Europe/Chisinau",
    channels=[pb.CHANNEL_SMS, pb.CHANNEL_EMAIL],
    statuses=[pb.STATUS_DELIVERED],
)
ION = apb.TeamMember(
    name="Ion", email="ion@shop.example", locale="en", time_zone="UTC", channels=[pb.CHANNEL_EMAIL]
)


def form_of(rows: list[dict[str, object]]) -> dict[str, str]:
    """A posted team form of `rows` as the page shows them, and its empty row."""
    form = {"rows": str(len(rows) + 1)}
    for i, row in enumerate(rows):
        for field in team.FIELDS:
            form[f"m-{i}-{field}"] = str(row[field])
        for status in row["hears"]:  # type: ignore[attr-defined]
            form[f"m-{i}-hears-{status}"] = "1"
        if row["remove"]:
            form[f"m-{i}-remove"] = "1"
    return form


def test_the_team_as_kept_round_trips_through_the_form_unchanged() -> None:
    rows = team.rows_of([DANA, ION])
    assert rows[0]["channels"] == "sms,email"  # the order preferred, kept
    assert rows[0]["hears"] == ["delivered"]
    posted = team.posted_rows(form_of(rows))
    assert posted == rows  # the empty row left out
    event = team_set("acct_1", team.team_of(posted))
    assert event.account_id == "acct_1"
    assert list(event.team_set.members) == [DANA, ION]


def test_a_member_changed_one_added_and_one_removed() -> None:
    rows = team.rows_of([DANA, ION])
    form = form_of(rows)
    form["m-0-role"] = "warehouse"
    form["m-0-hears-out_for_delivery"] = "1"
    form["m-1-remove"] = "1"
    form |= {"m-2-name": "Mia", "m-2-phone": "+40721234567", "m-2-locale": "ru"}
    members = team_set("acct_1", team.team_of(team.posted_rows(form))).team_set.members
    assert [m.name for m in members] == ["Dana", "Mia"]
    assert members[0].role == "warehouse"
    assert list(members[0].statuses) == [pb.STATUS_OUT_FOR_DELIVERY, pb.STATUS_DELIVERED]
    # a new member's channels: every one with an address; their time zone: the default
    assert (list(members[1].channels), members[1].time_zone) == ([pb.CHANNEL_SMS], "UTC")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"m-1-email": "not-an-address"}, "1.email"),
        ({"m-0-phone": "0721 234 567"}, "0.phone"),
        ({"m-0-name": ""}, "0.name"),
        ({"m-1-time_zone": "Mars/Olympus"}, "1.time_zone"),
        ({"m-1-locale": "english"}, "1.locale"),
        ({"m-1-channels": "sms"}, "1.member"),  # no phone for SMS: the member's rule
        ({"m-1-channels": "fax"}, "1.channels"),
        ({"m-1-email": "", "m-1-phone": ""}, "1.member"),
        ({"m-1-role": "a\x07b"}, "1.role"),
    ],
)
def test_a_bad_field_is_named_by_its_row(change: dict[str, str], field: str) -> None:
    form = form_of(team.rows_of([DANA, ION])) | change
    with pytest.raises(ApiError) as refused:
        team.team_of(team.posted_rows(form))
    assert refused.value.status == 422
    assert field in refused.value.fields, refused.value.fields


def test_a_removed_row_counts_in_the_numbering_of_the_others() -> None:
    form = form_of(team.rows_of([DANA, ION])) | {"m-0-remove": "1", "m-1-email": "nope"}
    with pytest.raises(ApiError) as refused:
        team.team_of(team.posted_rows(form))
    assert list(refused.value.fields) == ["1.email"]  # row 1 of the page, not member 0


def test_more_than_twenty_members_are_refused() -> None:
    rows = team.rows_of([ION] * 21)
    with pytest.raises(ApiError) as refused:
        team.team_of(rows)
    assert list(refused.value.fields) == ["members"]


def test_the_version_changes_with_the_team() -> None:
    assert team.digest([DANA, ION]) == team.digest([DANA, ION])
    assert team.digest([DANA, ION]) != team.digest([ION, DANA])
    assert team.digest([]) != team.digest([ION])


def test_a_replay_is_one_message_or_everything_since_a_local_time() -> None:
    one = webhooks.replay_of({"message_id": "msg_0a1b"}, ZONE)
    assert one == Replay(message_id="msg_0a1b")
    since = webhooks.replay_of({"since": "2026-12-01T10:30"}, ZONE)
    assert since.since == datetime(2026, 12, 1, 8, 30, tzinfo=UTC)  # Chisinau in winter: +2
    event = webhooks_replayed("acct_1", "ep_1", since)
    assert event.webhooks_replayed.endpoint_id == "ep_1"
    assert event.webhooks_replayed.since.ToDatetime(UTC) == datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    assert event.webhooks_replayed.message_id == ""


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({}, "body"),
        ({"message_id": "msg_1", "since": "2026-12-01T10:30"}, "body"),
        ({"message_id": "message-1"}, "message_id"),
        ({"since": "yesterday"}, "since"),
    ],
)
def test_a_bad_replay_is_named(form: dict[str, str], field: str) -> None:
    with pytest.raises(ApiError) as refused:
        webhooks.replay_of(form, ZONE)
    assert refused.value.status == 422
    assert field in refused.value.fields, refused.value.fields


def test_a_log_entry_becomes_a_row_in_the_carriers_time_and_language() -> None:
    fields = {b"msg": b"msg_1", b"n": b"n1", b"try": b"2", b"status": b"0"}
    fields |= {b"ms": b"3000", b"error": b"timed out", b"at": b"1764585000000"}
    t = try_of(fields)
    assert t == Try("msg_1", "n1", 2, 0, 3000, "timed out", 1764585000000)
    row = webhooks.try_row(t, "shipment.status_changed", ZONE, "ro")
    assert row["status"] == "fără răspuns"
    assert not row["ok"]
    assert row["iso"] == "2025-12-01T12:30:00+02:00"
    assert (row["type"], row["attempt"], row["ms"], row["error"]) == (
        "shipment.status_changed",
        2,
        3000,
        "timed out",
    )
    sent = webhooks.try_row(Try("msg_1", "n1", 1, 204, 12, "", 1764585000000), "", ZONE, "en")
    assert (sent["status"], sent["ok"]) == ("204", True)


def test_no_secret_is_shown_of_an_endpoint() -> None:
    endpoint = apb.Endpoint(
        endpoint_id="ep_1",
        url="https://shop.example/hooks",
        secrets=[apb.EndpointSecret(secret="whsec_c2VjcmV0")],
        disabled=True,
        disabled_reason="answered 410",
    )
    shown = webhooks.endpoint_view(endpoint, "en", ZONE)
    assert "whsec_c2VjcmV0" not in repr(shown)
    assert (shown["disabled"], shown["why"], shown["types"]) == (
        True,
        "answered 410",
        ["every event type"],
    )


def test_a_member_sees_their_own_account_whatever_is_asked() -> None:
    assert account_of(Viewer("Dana", account="acct_mine"), {"account": "acct_theirs"}) == (
        "acct_mine"
    )
    assert account_of(Viewer("operator"), {"account": " acct_theirs "}) == "acct_theirs"
    assert account_of(Viewer("operator"), {"account": "a b"}) == ""
    assert account_of(Viewer("operator"), {}) == ""


def test_the_tracker_dates_an_endpoint_added_changed_and_disabled() -> None:
    state = AccountState("acct_1")

    def at(event: apb.AccountEvent, seconds: int) -> apb.AccountEvent:
        event.account_id, event.event_id = "acct_1", f"e{seconds}"
        event.occurred_at.FromSeconds(seconds)
        return event

    whole = apb.Endpoint(endpoint_id="ep_1", url="https://shop.example/in")
    whole.created_at.FromSeconds(5)  # a producer's: ignored
    changes(state, at(apb.AccountEvent(endpoint_set=apb.EndpointSet(endpoint=whole)), 100))
    assert whole.created_at.seconds == 5  # the event is left as it came
    kept = state.endpoints["ep_1"]
    assert (kept.created_at.seconds, kept.changed_at.seconds) == (100, 100)
    sparse = apb.EndpointSet(endpoint=apb.Endpoint(endpoint_id="ep_1", description="erp"))
    sparse.fields.paths.append("description")
    changes(state, at(apb.AccountEvent(endpoint_set=sparse), 200))
    kept = state.endpoints["ep_1"]
    assert (kept.created_at.seconds, kept.changed_at.seconds, kept.description) == (100, 200, "erp")
    off = apb.EndpointDisabled(endpoint_id="ep_1", reason="answered 410")
    changes(state, at(apb.AccountEvent(endpoint_disabled=off), 300))
    kept = state.endpoints["ep_1"]
    assert (kept.created_at.seconds, kept.changed_at.seconds, kept.disabled) == (100, 300, True)
    changes(state, at(apb.AccountEvent(endpoint_set=apb.EndpointSet(endpoint=whole)), 400))
    assert state.endpoints["ep_1"].created_at.seconds == 100  # set whole again: still 100
    shown = webhooks.endpoint_view(state.endpoints["ep_1"], "en", ZONE)
    assert (shown["created"], shown["changed"]) == ("1 Jan 1970, 03:01", "1 Jan 1970, 03:06")
    assert webhooks.endpoint_view(apb.Endpoint(endpoint_id="ep_2"), "en", ZONE)["created"] == ""
