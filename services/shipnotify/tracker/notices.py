"""The seam between tracking and notifying: which jobs an applied event calls for.

A planner sees what applying an event did (for a redelivered event, what its first
delivery did) and returns records for the notifications topic. The tracker produces
them before it commits, so none is lost; their ids are deterministic, so a redelivery
re-emits the same jobs and the notifier sends each once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

from shipnotify.model.notices import (
    Addressee,
    addressees,
    owed_event,
    plan_for,
    push_addressees,
)
from shipnotify.model.survey import Rules, for_account
from shipnotify.model.survey_notices import survey_jobs
from shipnotify.store import Applied
from shipnotify.v1 import shipment_events_pb2 as pb

JobRecord = tuple[bytes, bytes]  # (key: shipment id, value: a NotificationJob)
NoticePlanner = Callable[[Applied], Sequence[JobRecord]]


def planner(rules: Rules) -> NoticePlanner:
    """The tracker's planner: the status notices, and after a delivery the survey's."""

    def plan(applied: Applied) -> Sequence[JobRecord]:
        notices = plan_notices(applied)
        surveys = plan_surveys(applied, rules)
        return [*notices, *surveys] if surveys else notices

    return plan


def plan_notices(applied: Applied) -> Sequence[JobRecord]:
    if not applied.parties:
        return ()
    if applied.advanced:
        event = applied.event
    elif applied.owed:
        event = owed_event(applied.event, *applied.owed)
    else:
        return ()
    everyone, tracking_id = _addressees(applied.parties)
    if applied.push:
        everyone += push_addressees(applied.push)
    key = applied.event.shipment_id.encode()
    jobs = plan_for(event, everyone, tracking_id)
    return [(key, job.SerializeToString()) for job in jobs]


def surveyed_account(applied: Applied) -> str | None:
    """The account whose survey settings a `delivered` that advanced its shipment is asked
    by ("": the carrier's); None for an event that plans no survey."""
    event = applied.event
    if not (applied.advanced and applied.parties) or event.WhichOneof("body") != "status_changed":
        return None
    if event.status_changed.status != pb.STATUS_DELIVERED:
        return None
    return _registered(applied.parties).account_id


def plan_surveys(applied: Applied, rules: Rules) -> Sequence[JobRecord]:
    """The SURVEY jobs of a `delivered` that advanced its shipment (a duplicate reports that
    its first delivery did, and plans the same jobs), by its account's survey settings
    (`applied.survey`) over the carrier's rules."""
    if surveyed_account(applied) is None:
        return ()
    account_rules = for_account(rules, applied.survey)
    if account_rules is None:  # the account asks no survey
        return ()
    event = applied.event
    key = event.shipment_id.encode()
    jobs = survey_jobs(event, _registered(applied.parties), account_rules)
    return [(key, job.SerializeToString()) for job in jobs]


@lru_cache(maxsize=4096)
def _addressees(parties: bytes) -> tuple[tuple[Addressee, ...], str]:
    """A shipment's events come close together: its registration is parsed once for them."""
    registered = _registered(parties)
    return addressees(registered), registered.tracking_id


@lru_cache(maxsize=256)
def _registered(parties: bytes) -> pb.ShipmentRegistered:
    return pb.ShipmentRegistered.FromString(parties)
