"""The tracker's webhook planning against a real redis-server: an owned shipment's status
that moved it forward makes one job per endpoint of its account that hears it; a late
status, the carrier's own shipments and an account without endpoints make none."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from redis.asyncio import Redis

from shipnotify.model import webhooks as wh
from shipnotify.model.status import Status
from shipnotify.store import Applied, Shipment, keys
from shipnotify.store.feedback import FeedbackApplied
from shipnotify.tracker.webhooks import WebhookPlanner
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import feedback_pb2 as fpb
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.v1 import survey_pb2 as spb


def status_event(shipment_id: str, status: pb.Status, *, depot: str = "") -> pb.ShipmentEvent:
    event = pb.ShipmentEvent(
        event_id=str(uuid.uuid4()),
        shipment_id=shipment_id,
        status_changed=pb.StatusChanged(status=status),
    )
    if depot:
        event.status_changed.location.depot = depot
    event.occurred_at.FromMilliseconds(1_780_000_000_000)
    event.recorded_at.FromMilliseconds(1_780_000_000_500)
    return event


def applied(event: pb.ShipmentEvent, *, advanced: bool, version: int) -> Applied:
    return Applied(event, duplicate=False, advanced=advanced, previous=None, version=version)


async def an_account(redis: Redis, *endpoints: apb.Endpoint) -> str:
    account_id = "acct_" + uuid.uuid4().hex[:12]
    for endpoint in endpoints:
        await redis.hset(
            keys.account_endpoints_key(account_id),
            endpoint.endpoint_id,
            endpoint.SerializeToString(),
        )
    return account_id


async def test_an_owned_shipment_moving_forward_tells_its_endpoints(redis: Redis) -> None:
    account = await an_account(
        redis,
        apb.Endpoint(endpoint_id="ep_all", url="https://a.example"),
        apb.Endpoint(endpoint_id="ep_cases", url="https://b.example", event_types=["case.opened"]),
        apb.Endpoint(endpoint_id="ep_off", url="https://c.example", disabled=True),
    )
    owned, carriers = "S-" + uuid.uuid4().hex, "S-" + uuid.uuid4().hex
    await redis.set(keys.owner_key(owned), account)
    moved = status_event(owned, pb.STATUS_OUT_FOR_DELIVERY, depot="North")
    late = status_event(owned, pb.STATUS_IN_TRANSIT)
    theirs = status_event(carriers, pb.STATUS_OUT_FOR_DELIVERY)
    planner = WebhookPlanner(redis, tracking_id_secret="secret")
    batch = [
        (applied(moved, advanced=True, version=4), 0),
        (applied(late, advanced=False, version=4), 1),
        (applied(theirs, advanced=True, version=2), 2),
    ]
    records = await planner.plan(batch, [[], [], []])
    assert len(records) == 1
    key, value = records[0][0], records[0][1]
    assert key == owned.encode()
    job = npb.NotificationJob.FromString(value)
    assert job.channel == pb.CHANNEL_WEBHOOK
    assert job.address == "ep_all"
    assert job.webhook.account_id == account
    assert job.webhook.message_id == wh.message_id(wh.STATUS_CHANGED, moved.event_id)
    body = orjson.loads(job.webhook.payload)
    assert body["type"] == "shipment.status_changed"
    assert body["data"]["version"] == 4
    assert body["data"]["status"] == Status.OUT_FOR_DELIVERY.value
    assert body["data"]["shipment_id"] == owned
    assert body["data"]["location"] == {"depot": "North"}
    # a redelivered event plans the very same bytes
    again = await planner.plan(batch, [[], [], []])
    assert again == records


async def test_no_endpoints_no_jobs(redis: Redis) -> None:
    account = await an_account(redis)
    owned = "S-" + uuid.uuid4().hex
    await redis.set(keys.owner_key(owned), account)
    planner = WebhookPlanner(redis, tracking_id_secret="secret")
    event = status_event(owned, pb.STATUS_PICKED_UP)
    assert await planner.plan([(applied(event, advanced=True, version=2), 0)], [[]]) == []


class OneShipment:
    def __init__(self, shipment: Shipment) -> None:
        self.known = shipment

    async def shipment(self, shipment_id: str) -> Shipment | None:
        return self.known if shipment_id == self.known.shipment_id else None


def feedback(shipment_id: str, **body: Any) -> fpb.FeedbackEvent:
    event = fpb.FeedbackEvent(event_id=str(uuid.uuid4()), shipment_id=shipment_id, **body)
    event.occurred_at.FromMilliseconds(1_780_000_000_000)
    event.recorded_at.FromMilliseconds(1_780_000_000_100)
    return event


async def test_answers_and_cases_tell_the_owners_endpoints(redis: Redis) -> None:
    account = await an_account(redis, apb.Endpoint(endpoint_id="ep_all", url="https://a"))
    owned, carriers = "S-" + uuid.uuid4().hex, "S-" + uuid.uuid4().hex
    await redis.set(keys.owner_key(owned), account)
    shipments = OneShipment(Shipment(owned, "trk-1", Status.DELIVERED, 0, 9, []))
    answered = feedback(
        owned,
        survey_answered=fpb.SurveyAnswered(
            survey_id="sv", scale=spb.SCALE_CSAT, score=2, unhappy=True
        ),
    )
    opened = feedback(owned, case_opened=fpb.CaseOpened(case_id="c1", survey_id="sv", depot="N"))
    reopened = feedback(owned, case_opened=fpb.CaseOpened(case_id="c1", survey_id="sv"))
    closed = feedback(
        owned, case_closed=fpb.CaseClosed(case_id="c1", outcome=spb.CASE_OUTCOME_SOLVED, note="x")
    )
    late = feedback(owned, survey_answered=fpb.SurveyAnswered(survey_id="sv", score=5))
    theirs = feedback(carriers, survey_answered=fpb.SurveyAnswered(survey_id="s2", score=1))
    batch = [
        (FeedbackApplied(answered, duplicate=False), 0),
        (FeedbackApplied(opened, duplicate=False, opened=True), 1),
        (FeedbackApplied(reopened, duplicate=False, opened=False), 2),  # already open
        (FeedbackApplied(closed, duplicate=False), 3),
        (FeedbackApplied(late, duplicate=False, kept_out=True), 4),
        (FeedbackApplied(theirs, duplicate=False), 5),
    ]
    planner = WebhookPlanner(redis, tracking_id_secret="secret")
    records = await planner.plan_feedback(batch, [[]] * 6, shipments)
    jobs = [npb.NotificationJob.FromString(r[1]) for r in records]
    bodies = [orjson.loads(j.webhook.payload) for j in jobs]
    assert [b["type"] for b in bodies] == ["survey.answered", "case.opened", "case.closed"]
    assert all(b["data"]["version"] == 9 for b in bodies)
    assert all(b["data"]["tracking_id"] == "trk-1" for b in bodies)
    assert bodies[0]["data"]["score"] == 2
    assert bodies[0]["data"]["unhappy"] is True
    assert bodies[1]["data"]["depot"] == "N"
    assert bodies[2]["data"]["outcome"] == "solved"
    assert "note" not in bodies[2]["data"]  # an operator's words stay ours
    assert [j.webhook.message_id for j in jobs] == [
        wh.message_id(wh.SURVEY_ANSWERED, answered.event_id),
        wh.message_id(wh.CASE_OPENED, opened.event_id),
        wh.message_id(wh.CASE_CLOSED, closed.event_id),
    ]
