"""A business customer's changes that both the account API (ingest) and the console take:
the team (each member a contact with a role) and a replay of an endpoint's webhooks (one
message, or every one since a time). The same checks, and the same AccountEvent, whoever
asks."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from shipnotify.model import accounts as model
from shipnotify.model.status import Status
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.web.contacts import Contact
from shipnotify.web.fields import TIME_PATTERN, Strict, printable

MAX_TEAM = 20
Label = Annotated[str, *printable(100)]
MessageId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^msg_[0-9a-f]{1,60}$")
]
Time = Annotated[AwareDatetime, Field(json_schema_extra={"pattern": TIME_PATTERN})]


class TeamMember(Contact):
    """A person of the account's team: a contact with a role. Heard, for a party whose
    registration names no contacts, as that party's contact."""

    role: Label | None = None
    surveys: Literal[True] = Field(
        default=True, description="A team member may always be asked after delivery."
    )


class Team(Strict):
    members: Annotated[list[TeamMember], Field(max_length=MAX_TEAM)]


class Replay(Strict):
    """Exactly one of `since` (every message made since then) and `message_id`."""

    since: Time | None = None
    message_id: MessageId | None = None

    @model_validator(mode="after")
    def _one(self) -> Replay:
        if (self.since is None) == (self.message_id is None):
            raise ValueError("give exactly one of since and message_id")
        return self


def member(m: TeamMember) -> apb.TeamMember:
    return apb.TeamMember(
        name=m.name,
        role=m.role or "",
        phone=m.phone or "",
        email=m.email or "",
        locale=m.locale,
        time_zone=m.time_zone,
        channels=[pb.CHANNEL_SMS if ch == "sms" else pb.CHANNEL_EMAIL for ch in m.channels or []],
        statuses=[Status(st).proto for st in m.statuses or []],
    )


def team_set(account_id: str, team: Team) -> apb.AccountEvent:
    """The whole team, replacing the last."""
    members = apb.TeamSet(members=[member(m) for m in team.members])
    return model.event(account_id, team_set=members)


def webhooks_replayed(account_id: str, endpoint_id: str, replay: Replay) -> apb.AccountEvent:
    replayed = apb.WebhooksReplayed(endpoint_id=endpoint_id, message_id=replay.message_id or "")
    if replay.since is not None:
        replayed.since.FromDatetime(replay.since.astimezone(UTC))
    return model.event(account_id, webhooks_replayed=replayed)
