"""A shipment's progress as its tracking page shows it: six stages from registration to
delivery, each done, current or still to come; a return or a cancellation ends the line where
the shipment had got to. Computed here only: the status JSON and its live events carry it,
and the page (its first render and its script) shows what they carry.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel

from shipnotify.i18n.labels import STATUS_LABELS
from shipnotify.model.status import Status

STAGES = (
    Status.REGISTERED,
    Status.CONFIRMED,
    Status.PICKED_UP,
    Status.IN_TRANSIT,
    Status.OUT_FOR_DELIVERY,
    Status.DELIVERED,
)
# The stage each status stands at; the end states stand outside the progress.
STAGE_OF: dict[Status, int] = {
    **{s: i for i, s in enumerate(STAGES)},
    Status.AWAITING_PICKUP: 1,
    Status.DELIVERY_ATTEMPTED: 4,
    Status.READY_FOR_COLLECTION: 4,
}
ENDS = (Status.RETURNED_TO_SENDER, Status.CANCELLED)
State = Literal["done", "current", "attempted", "collect", "complete", "todo", "ended"]
# The state of the current stage, where it is not plain "current".
_STATES: dict[Status, State] = {
    Status.DELIVERY_ATTEMPTED: "attempted",
    Status.READY_FOR_COLLECTION: "collect",
    Status.DELIVERED: "complete",
}
# Statuses that give their own name to the stage they stand at.
_RENAME = (Status.AWAITING_PICKUP, Status.READY_FOR_COLLECTION)


class Stage(BaseModel):
    stage: Status  # the stage's place (one of STAGES), or the end status that closes the line
    state: State
    label: str  # in the language of the snapshot


def stages(status: Status, advanced: Iterable[Status], lang: str) -> list[Stage]:
    """The stages shown for a shipment at `status` that has advanced through `advanced` (the
    statuses of its timeline that moved it forward), labelled in `lang`."""
    labels = STATUS_LABELS[lang]
    if status in ENDS:
        reached = max((STAGE_OF[s] for s in advanced if s in STAGE_OF), default=-1)
        done = [Stage(stage=s, state="done", label=labels[s]) for s in STAGES[: reached + 1]]
        return [*done, Stage(stage=status, state="ended", label=labels[status])]
    at = STAGE_OF[status]
    return [
        Stage(
            stage=s,
            state="done" if i < at else _STATES.get(status, "current") if i == at else "todo",
            label=labels[status] if i == at and status in _RENAME else labels[s],
        )
        for i, s in enumerate(STAGES)
    ]
