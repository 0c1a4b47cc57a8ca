"""The progress stages, computed once on the server for the page, the status JSON and its
live events: which stage is done, current or still to come, and how a return or a
cancellation ends the line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shipnotify.i18n.labels import LANGUAGES, STATUS_LABELS
from shipnotify.model.status import Status
from shipnotify.status_api.app import TimelineItem, Tracking
from shipnotify.status_api.progress import STAGES, stages

S = Status
ROAD = [S.REGISTERED, S.CONFIRMED, S.PICKED_UP, S.IN_TRANSIT, S.OUT_FOR_DELIVERY]
TODO = "todo"


@pytest.mark.parametrize(
    ("status", "advanced", "expected"),
    [
        (S.REGISTERED, [S.REGISTERED], ["current", *[TODO] * 5]),
        (S.CONFIRMED, ROAD[:2], ["done", "current", *[TODO] * 4]),
        (S.AWAITING_PICKUP, [*ROAD[:2], S.AWAITING_PICKUP], ["done", "current", *[TODO] * 4]),
        (S.IN_TRANSIT, ROAD[:4], [*["done"] * 3, "current", TODO, TODO]),
        (S.OUT_FOR_DELIVERY, ROAD, [*["done"] * 4, "current", TODO]),
        (S.DELIVERY_ATTEMPTED, [*ROAD, S.DELIVERY_ATTEMPTED], [*["done"] * 4, "attempted", TODO]),
        (
            S.READY_FOR_COLLECTION,
            [*ROAD[:4], S.READY_FOR_COLLECTION],
            [*["done"] * 4, "collect", TODO],
        ),
        (S.DELIVERED, [*ROAD, S.DELIVERED], [*["done"] * 5, "complete"]),
    ],
)
def test_each_stage_is_done_current_or_to_come(
    status: Status, advanced: list[Status], expected: list[str]
) -> None:
    shown = stages(status, advanced, "en")
    assert [s.state for s in shown] == expected
    assert [s.stage for s in shown] == list(STAGES)


@pytest.mark.parametrize(
    ("status", "advanced", "done"),
    [
        (S.RETURNED_TO_SENDER, [*ROAD[:4], S.RETURNED_TO_SENDER], 4),
        (S.RETURNED_TO_SENDER, [*ROAD, S.DELIVERY_ATTEMPTED, S.RETURNED_TO_SENDER], 5),
        (S.CANCELLED, [*ROAD[:2], S.CANCELLED], 2),
        (S.CANCELLED, [S.REGISTERED, S.AWAITING_PICKUP, S.CANCELLED], 2),
        (S.CANCELLED, [S.CANCELLED], 0),
    ],
)
def test_an_end_closes_the_line_where_the_shipment_got_to(
    status: Status, advanced: list[Status], done: int
) -> None:
    shown = stages(status, advanced, "en")
    assert [(s.stage, s.state) for s in shown] == [
        *((stage, "done") for stage in STAGES[:done]),
        (status, "ended"),
    ]
    assert shown[-1].label == STATUS_LABELS["en"][status]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(
    ("status", "renamed"),
    [(S.AWAITING_PICKUP, S.CONFIRMED), (S.READY_FOR_COLLECTION, S.OUT_FOR_DELIVERY)],
)
def test_a_status_beside_the_road_names_its_stage(
    lang: str, status: Status, renamed: Status
) -> None:
    labels = STATUS_LABELS[lang]
    shown = {s.stage: s.label for s in stages(status, [S.REGISTERED, status], lang)}
    assert shown[renamed] == labels[status]
    assert all(shown[s] == labels[s] for s in STAGES if s is not renamed)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_status_shows_one_step_in_its_language(lang: str) -> None:
    for status in Status:
        shown = stages(status, [S.REGISTERED, status], lang)
        steps = [s for s in shown if s.state not in ("done", "todo")]
        assert len(steps) == 1, status
        assert steps[0].label in STATUS_LABELS[lang].values()


def item(status: Status, n: int, *, advanced: bool = True) -> TimelineItem:
    at = datetime(2026, 11, 23, 9, tzinfo=UTC) + timedelta(hours=n)
    return TimelineItem(
        status=status.value,
        label=STATUS_LABELS["ro"][status],
        occurred_at=at,
        recorded_at=at,
        advanced=advanced,
    )


def test_the_snapshot_carries_its_progress_from_its_advancing_events() -> None:
    """The status JSON and each live event: a late tap that did not advance the shipment (an
    out-for-delivery after the cancellation) does not count as reached."""
    timeline = [
        item(S.REGISTERED, 0),
        item(S.CONFIRMED, 1),
        item(S.CANCELLED, 2),
        item(S.OUT_FOR_DELIVERY, 3, advanced=False),
    ]
    snapshot = Tracking(
        tracking_id="SN1",
        lang="ro",
        status="cancelled",
        label=STATUS_LABELS["ro"][S.CANCELLED],
        final=True,
        status_at=timeline[2].occurred_at,
        timeline=timeline,
    )
    assert snapshot.model_dump(mode="json")["progress"] == [
        {"stage": "registered", "state": "done", "label": "Înregistrat"},
        {"stage": "confirmed", "state": "done", "label": STATUS_LABELS["ro"][S.CONFIRMED]},
        {"stage": "cancelled", "state": "ended", "label": STATUS_LABELS["ro"][S.CANCELLED]},
    ]
    assert Tracking.model_validate_json(snapshot.model_dump_json()) == snapshot
