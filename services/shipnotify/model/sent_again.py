"""Sending a failed notice again (the console's "send again"): which notices may be, the
request the console appends to the events topic (NoticeSentAgain), and the job the tracker
plans from it. Pure.

The job is the failed notice's, planned again from the shipment's stored contacts and the
timeline entry of its status, under a notification id derived from the failed one's and the
request's event id (as a webhook replay's is, model/webhooks.py), the request's id itself
derived from the failed notice's: the notifier's once-only claim lets it go once, however
often the request is delivered or made. Its age starts at the
request (as `shipnotify redrive` gives a dead letter a fresh one), so that an erasure of
the shipment's contacts after the request cancels it; one before finds no contact to plan
for, and the job goes out addressed to nobody, planned when they were erased, which the
notifier cancels as it cancels every notice planned before an erasure.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from shipnotify.model.codec import entry_from_stored
from shipnotify.model.notices import addressees, plan_for, push_addressees
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb

# The final states of a notice that did not reach its reader and may, once the cause is
# fixed: the provider refused it, its delivery receipt said it failed, or it gave up (a
# dead letter). Not "opted_out" (the reader said STOP), "gone" (the push subscription
# ended), "cancelled" (the contacts were erased), "superseded", "throttled", "removed" or
# "disabled": those are decisions, not failures.
FAILED = frozenset({"failed", "undelivered", "rejected", "dead"})
# The channels whose notices the tracker plans from the shipment's contacts (a webhook has
# its endpoint's replay instead)
CHANNELS = {"sms": pb.CHANNEL_SMS, "email": pb.CHANNEL_EMAIL, "push": pb.CHANNEL_PUSH}
# the address of a notice whose contact was erased before it was planned again
ERASED = "(erased)"
PARTIES = {"sender": npb.PARTY_ROLE_SENDER, "recipient": npb.PARTY_ROLE_RECIPIENT}


def may_send_again(notice: Mapping[str, Any]) -> bool:
    """Whether a notice, as NoticeBook.of_shipment spells it, may be sent again: a status's
    notice to a party by SMS, email or push that ended in a failure. (The survey loop's
    notices are asked once, at their time: never again.)"""
    return (
        notice.get("kind", "status") == "status"
        and notice.get("s") in FAILED
        and notice.get("c") in CHANNELS
        and notice.get("p") in PARTIES
        and bool(notice.get("ev"))
    )


# the states of a notice not yet final: a copy in one of them is on its way
IN_FLIGHT = frozenset({"sending", "retrying", "deferred", "redriven"})


def copy_on_its_way(nid: str, notices: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether another notice of the same status to the same party by the same channel is
    on its way (a copy sent again a moment ago, say): then a second copy waits. (A party's
    second contact on that channel looks the same: it waits too, for seconds.)"""
    first = notices.get(nid, {})
    same = ("kind", "c", "p", "st", "ev")
    return any(
        other != nid and doc.get("s") in IN_FLIGHT and all(doc.get(f) == first.get(f) for f in same)
        for other, doc in notices.items()
    )


def sent_again_id(first: str, request_event_id: str) -> str:
    """The notice sent again: UUIDv5(the failed notice's id, the request's event id)."""
    return str(uuid.uuid5(uuid.UUID(first), request_event_id))


def request_id(nid: str) -> str:
    """The id of the request to send a failed notice again: one a failed notice, so that
    two requests (a double click, two operators at once) make one copy. A copy that fails
    in its turn is a failed notice of its own, which may be sent again."""
    return str(uuid.uuid5(uuid.UUID(nid), "sent again"))


def request(
    shipment_id: str, nid: str, notice: Mapping[str, Any], requested_by: str, at: datetime
) -> pb.ShipmentEvent:
    """The event asking to send a notice again (its id: request_id); `notice` as
    of_shipment spells it, one that may_send_again."""
    event = pb.ShipmentEvent(
        event_id=request_id(nid),
        shipment_id=shipment_id,
        notice_sent_again=pb.NoticeSentAgain(
            notification_id=nid,
            status_event_id=str(notice["ev"]),
            channel=CHANNELS[str(notice["c"])],
            party=PARTIES[str(notice["p"])],
            requested_by=requested_by,
        ),
    )
    event.occurred_at.FromDatetime(at)
    event.recorded_at.FromDatetime(at)
    return event


def job(
    event: pb.ShipmentEvent,
    *,
    parties: bytes,
    push: Sequence[pb.PushSubscribed],
    entry: str | bytes | None,
    erased_ms: int,
) -> npb.NotificationJob | None:
    """The job a NoticeSentAgain calls for, from what the tracker keeps of its shipment: the
    registration (`parties`, b"" once the contacts were erased), the push subscriptions,
    the stored timeline entry of the notice's status event and when the contacts were last
    erased (0: never). None when nothing is left to send it to though nothing was erased (a
    push subscription that ended since, a contact changed), or the status event is unknown."""
    again = event.notice_sent_again
    if entry is None:
        return None
    stored = entry_from_stored(entry)
    status = pb.ShipmentEvent(event_id=again.status_event_id, shipment_id=event.shipment_id)
    status.occurred_at.FromMilliseconds(stored.occurred_at_ms)
    status.recorded_at.CopyFrom(event.recorded_at)  # a fresh age, from the request
    status.status_changed.status = stored.status.proto
    if stored.failure:
        status.status_changed.failure = stored.failure.proto
    found: npb.NotificationJob | None = None
    if parties:
        registered = pb.ShipmentRegistered.FromString(parties)
        everyone = addressees(registered) + push_addressees(push)
        found = _the_notice(again, plan_for(status, everyone, registered.tracking_id))
    if found is None:
        if not erased_ms:
            return None
        # nobody to address: planned when the contacts were erased, so it is cancelled
        found = npb.NotificationJob(
            shipment_id=event.shipment_id,
            event_id=again.status_event_id,
            address=ERASED,  # a job has an address; this one is never sent anywhere
            party=again.party,  # type: ignore[arg-type]
            channel=again.channel,
            status=status.status_changed.status,
            occurred_at=status.occurred_at,
        )
        found.planned_at.FromMilliseconds(erased_ms)
    found.notification_id = sent_again_id(again.notification_id, event.event_id)
    found.sent_again_of = again.notification_id
    return found


def _the_notice(
    again: pb.NoticeSentAgain, planned: Sequence[npb.NotificationJob]
) -> npb.NotificationJob | None:
    """The planned job of the notice to send again: the one of its id; for a notice that was
    itself sent again (its id derived), the one job of its party and channel (a party with
    two contacts on that channel, or two browsers, leaves it unknown: None)."""
    for job in planned:
        if job.notification_id == again.notification_id:
            return job
    same = [j for j in planned if (j.party, j.channel) == (again.party, again.channel)]
    return same[0] if len(same) == 1 else None
