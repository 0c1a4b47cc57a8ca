"""The surveys' figures: survey SMS jobs as the tracker plans them after a delivery, each to
a phone nobody asked yet (a phone asked lately is throttled), and the answers their phones
send back ("5", by SMS), so that the bench times the survey loop: the notifier sending the
surveys (and telling the feedback topic), hooks taking the answers and the tracker's feedback
consumer applying both."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from shipnotify.model import survey
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.v1 import survey_pb2 as spb

ANSWER = "5"  # happy: an answer calls for no follow-up, apology or case


@dataclass(frozen=True)
class Asked:
    shipment_id: str
    phone: str
    job: npb.NotificationJob


def asked(run_id: str, count: int) -> list[Asked]:
    """`count` recipients each asked by SMS, due now, in Romanian, on the CSAT scale."""
    now_ms = int(time.time() * 1000)
    found = []
    for n in range(count):
        sid, phone = f"bench-sv-{run_id}-{n}", f"+4073{n % 10_000_000:07d}"
        survey_id = survey.survey_id(str(uuid.uuid4()), npb.PARTY_ROLE_RECIPIENT)
        job = npb.NotificationJob(
            notification_id=survey.notice_id(survey_id, "survey"),
            shipment_id=sid,
            event_id=str(uuid.uuid4()),
            tracking_id=f"BENCHSV{n:013d}",
            party=npb.PARTY_ROLE_RECIPIENT,
            channel=pb.CHANNEL_SMS,
            address=phone,
            name="Ion",
            locale="ro",
            time_zone="Europe/Chisinau",
            status=pb.STATUS_DELIVERED,
            kind=npb.NOTICE_KIND_SURVEY,
            survey_id=survey_id,
            scale=spb.SCALE_CSAT,
        )
        job.occurred_at.FromMilliseconds(now_ms)
        job.planned_at.FromMilliseconds(now_ms)
        job.not_before.FromMilliseconds(now_ms)
        found.append(Asked(sid, phone, job))
    return found
