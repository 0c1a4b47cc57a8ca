"""The business customers' webhooks a batch of applied events calls for: a
`shipment.status_changed` for each status that moved an owned shipment forward (a late or
lower status moves nothing and says nothing), and from the feedback topic
`survey.answered`, `case.opened` and `case.closed`; one job per endpoint of its account that
hears it. The carrier's own shipments make none. Two pipelined reads a batch at most (the
owners, then the endpoints of the accounts found), and none for a batch that has nothing to
tell."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC
from typing import Any, Protocol

from google.protobuf.json_format import MessageToDict
from redis.asyncio import Redis

from shipnotify import tracing
from shipnotify.model import webhooks as wh
from shipnotify.model.codec import event_status
from shipnotify.model.ids import tracking_id_for
from shipnotify.store import Applied, Shipment, accounts
from shipnotify.store.feedback import FeedbackApplied
from shipnotify.v1 import feedback_pb2 as fpb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.v1 import survey_pb2 as spb


class Shipments(Protocol):
    """The shipments as Redis has them (TrackingStore)."""

    async def shipment(self, shipment_id: str) -> Shipment | None: ...


class WebhookPlanner:
    def __init__(self, redis: Redis, *, tracking_id_secret: str) -> None:
        self._redis = redis
        self._secret = tracking_id_secret

    async def plan(
        self, applied: Sequence[tuple[Applied, int]], traces: Sequence[tracing.Headers]
    ) -> list[tracing.Record]:
        moved = [(a, i) for a, i in applied if a.advanced and _status_body(a.event)]
        if not moved:
            return []
        owners = await accounts.owners(self._redis, [a.event.shipment_id for a, _ in moved])
        owned = [(a, i, _owner(a, o)) for (a, i), o in zip(moved, owners, strict=True)]
        owned = [(a, i, o) for a, i, o in owned if o]
        if not owned:
            return []
        endpoints = await accounts.endpoints_of(self._redis, sorted({o for _, _, o in owned}))
        records: list[tracing.Record] = []
        for a, i, owner in owned:
            if not endpoints.get(owner):
                continue
            message = self.status_changed(a, owner)
            jobs = wh.fan_out(message, endpoints[owner])
            key = a.event.shipment_id.encode()
            records += tracing.in_trace([(key, j.SerializeToString()) for j in jobs], traces[i])
        return records

    async def plan_feedback(
        self,
        applied: Sequence[tuple[FeedbackApplied, int]],
        traces: Sequence[tracing.Headers],
        tracking: Shipments,
    ) -> list[tracing.Record]:
        """survey.answered, case.opened, case.closed, with the shipment's tracking id and
        version as Redis has them now."""
        told = [(d, i) for d, i in applied if feedback_type(d)]
        if not told:
            return []
        owners = await accounts.owners(self._redis, [d.event.shipment_id for d, _ in told])
        owned = [(d, i, o) for (d, i), o in zip(told, owners, strict=True) if o]
        if not owned:
            return []
        endpoints = await accounts.endpoints_of(self._redis, sorted({o for _, _, o in owned}))
        owned = [(d, i, o) for d, i, o in owned if endpoints.get(o)]
        wanted = sorted({d.event.shipment_id for d, _, _ in owned})
        shipments = dict(
            zip(wanted, await asyncio.gather(*map(tracking.shipment, wanted)), strict=True)
        )
        records: list[tracing.Record] = []
        for done, i, owner in owned:
            shipment = shipments.get(done.event.shipment_id)
            event_type = feedback_type(done)
            if shipment is None or event_type is None:
                continue  # a shipment Redis no longer has: nothing to order its events by
            event = done.event
            message = wh.make(
                event_type,
                event.event_id,
                account_id=owner,
                shipment_id=event.shipment_id,
                tracking_id=shipment.tracking_id,
                version=shipment.version,
                at=event.recorded_at.ToDatetime(UTC),
                data=feedback_data(event),
            )
            jobs = wh.fan_out(message, endpoints[owner])
            key = event.shipment_id.encode()
            records += tracing.in_trace([(key, j.SerializeToString()) for j in jobs], traces[i])
        return records

    def status_changed(self, applied: Applied, account_id: str) -> wh.Message:
        event = applied.event
        registered = applied.registered
        tracking_id = (
            registered.tracking_id
            if registered is not None
            else tracking_id_for(self._secret, event.shipment_id)
        )
        changed = event.status_changed if event.HasField("status_changed") else None
        location = (
            MessageToDict(changed.location, preserving_proto_field_name=True)
            if changed is not None and changed.HasField("location")
            else None
        )
        data = wh.status_changed_data(
            shipment_id=event.shipment_id,
            tracking_id=tracking_id,
            version=applied.version,
            status=event_status(event).proto,
            occurred_at=event.occurred_at.ToDatetime(UTC),
            failure=changed.failure if changed is not None else 0,
            location=location,
        )
        return wh.make(
            wh.STATUS_CHANGED,
            event.event_id,
            account_id=account_id,
            shipment_id=event.shipment_id,
            tracking_id=tracking_id,
            version=applied.version,
            # the event's record time, not now: a redelivered event makes the same bytes
            at=event.recorded_at.ToDatetime(UTC),
            data=data,
        )


def _status_body(event: pb.ShipmentEvent) -> bool:
    return event.WhichOneof("body") in ("status_changed", "registered")


def _owner(applied: Applied, stored: str) -> str:
    """The owner as Redis has it, or as the registration names it (the same batch's)."""
    event = applied.event
    return stored or (event.registered.account_id if event.HasField("registered") else "")


def feedback_type(done: FeedbackApplied) -> str | None:
    """The webhook a feedback event makes, if any: an answer taken, a case opened (by this
    event; a duplicate re-plans what its first application did), a case closed."""
    if done.kept_out:
        return None
    body = done.event.WhichOneof("body")
    if body == "survey_answered":
        return wh.SURVEY_ANSWERED
    if body == "case_opened" and (done.opened or done.duplicate):
        return wh.CASE_OPENED
    if body == "case_closed":
        return wh.CASE_CLOSED
    return None


def _enum(enum: Any, value: int, prefix: str) -> str | None:
    return str(enum.Name(value)).removeprefix(prefix).lower() if value else None


def feedback_data(event: fpb.FeedbackEvent) -> dict[str, Any]:
    """What a feedback webhook says (ids and choices only: no operator's note, no name)."""
    if event.HasField("survey_answered"):
        answer = event.survey_answered
        return {
            "survey_id": answer.survey_id,
            "scale": _enum(spb.Scale, answer.scale, "SCALE_"),
            "score": answer.score,
            "source": _enum(spb.AnswerSource, answer.source, "ANSWER_SOURCE_"),
            "unhappy": answer.unhappy,
        }
    if event.HasField("case_opened"):
        opened = event.case_opened
        return {
            "case_id": opened.case_id,
            "survey_id": opened.survey_id,
            "depot": opened.depot or None,
            "due_at": wh.rfc3339(opened.due_at.ToDatetime(UTC))
            if opened.HasField("due_at")
            else None,
        }
    closed = event.case_closed
    return {
        "case_id": closed.case_id,
        "outcome": _enum(spb.CaseOutcome, closed.outcome, "CASE_OUTCOME_"),
        "cause": _enum(spb.CaseCause, closed.cause, "CASE_CAUSE_"),
    }
