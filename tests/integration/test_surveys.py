"""A delivery applied by the running tracker (its own planner, from the settings' survey
rules) puts the survey's jobs on the notifications topic beside its status notices: one a
party, to its first contact that takes surveys, due the survey delay after delivery."""

from __future__ import annotations

from redis.asyncio import Redis

from shipnotify.config import Settings
from shipnotify.model import survey
from shipnotify.model.status import Status
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.v1 import survey_pb2 as spb
from tests.offsets import consumed, read_all

from .conftest import eventually, running_tracker, unique
from .test_dead_letters import produce, registration_event, status_event


async def test_a_delivery_plans_a_survey_for_each_party_to_its_first_contact_that_takes_one(
    settings: Settings, redis: Redis
) -> None:
    own = settings.with_(survey_scale="ces", survey_delay_s=5400)
    sid = unique("survey")
    registered = registration_event(sid)
    sender = registered.registered.sender
    sender.contacts[0].no_surveys = True  # the shop's desk is never asked...
    sender.contacts.add(  # ...its owner is, by SMS: the first preferred channel it can take
        name="Owner", phone="+40721000009", email="o@shop.example", channels=[pb.CHANNEL_SMS]
    )
    picked_up = status_event(sid, Status.PICKED_UP)
    delivered = status_event(sid, Status.DELIVERED)
    key = sid.encode()
    async with running_tracker(own, None):
        await produce(
            own,
            own.events_topic,
            [(key, e.SerializeToString()) for e in (registered, picked_up, delivered, delivered)],
        )
        await eventually(lambda: consumed(own, own.tracker_group, own.events_topic))
    jobs = [
        npb.NotificationJob.FromString(r.value)
        for r in await read_all(own, own.notifications_topic)
    ]
    surveys = [j for j in jobs if j.kind == npb.NOTICE_KIND_SURVEY]
    # the delivery came twice: its surveys twice, the same jobs
    assert len(surveys) == 4
    assert surveys[2:] == surveys[:2]
    due_ms = delivered.occurred_at.ToMilliseconds() + 5400 * 1000
    by_party = {j.party: j for j in surveys}
    assert set(by_party) == {npb.PARTY_ROLE_SENDER, npb.PARTY_ROLE_RECIPIENT}
    owner, ion = by_party[npb.PARTY_ROLE_SENDER], by_party[npb.PARTY_ROLE_RECIPIENT]
    assert (owner.channel, owner.address, owner.name) == (pb.CHANNEL_SMS, "+40721000009", "Owner")
    assert (ion.channel, ion.address) == (pb.CHANNEL_SMS, "+37369123456")
    for job in surveys:
        survey_id = survey.survey_id(delivered.event_id, job.party)
        assert job.survey_id == survey_id
        assert job.notification_id == survey.notice_id(survey_id, "survey")
        assert job.event_id == delivered.event_id
        assert job.scale == spb.SCALE_CES
        assert job.status == pb.STATUS_DELIVERED
        assert job.tracking_id == "d" * 20
        assert job.not_before.ToMilliseconds() == due_ms
        assert job.planned_at.ToMilliseconds() == due_ms
    # beside them, the status notices as before: picked up and delivered (twice), no other
    statuses = [j for j in jobs if j.kind == npb.NOTICE_KIND_UNSPECIFIED]
    assert len(jobs) == len(statuses) + 4
    assert {j.status for j in statuses} == {pb.STATUS_PICKED_UP, pb.STATUS_DELIVERED}
