"""The business customers' webhooks a batch of applied events calls for: a
`shipment.status_changed` for each status that moved an owned shipment forward (a late or
lower status moves nothing and says nothing), one job per endpoint of its account that hears
it. The carrier's own shipments make none. Two pipelined reads a batch at most (the owners,
then the endpoints of the accounts found), and none for a batch that advanced nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC

from google.protobuf.json_format import MessageToDict
from redis.asyncio import Redis

from shipnotify import tracing
from shipnotify.model import webhooks as wh
from shipnotify.model.codec import event_status
from shipnotify.model.ids import tracking_id_for
from shipnotify.store import Applied, accounts
from shipnotify.v1 import shipment_events_pb2 as pb


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
