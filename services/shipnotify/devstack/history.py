"""Four weeks of history for the demo's console: shipments delivered by three depots' couriers
at every hour of the working week, and their recipients' answers to the survey, with the
patterns a carrier finds (a depot, a courier and Friday evenings below the rest; lateness the
reason of most unhappy answers; a quarter of the deliveries without a courier tap before
them, for the coverage). Produced to the events and feedback topics as an import of
past records would be, and applied by the tracker like any other, so `rebuild` restores it.

The shipments' contacts have no address, so nobody is sent a notice or a survey for them;
the surveys' made-up addresses reach nobody either."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from google.protobuf.message import Message

from shipnotify import kafka
from shipnotify.config import Settings
from shipnotify.model import survey
from shipnotify.model.status import Status
from shipnotify.v1 import feedback_pb2 as fpb
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.v1 import survey_pb2 as spb

DEPOTS = {
    "Chișinău hub": ("c-11", "c-12", "c-13"),
    "Bălți": ("c-21", "c-22"),
    "Cahul": ("c-31", "c-32", "c-33"),
}
WORSE_DEPOT, WORSE_COURIER = "Bălți", "c-32"
# the follow-up's reasons of the unhappy answers, by weight: lateness the most
_PAINS = (
    (spb.REASON_LATE, 45),
    (spb.REASON_NOT_INFORMED, 20),
    (spb.REASON_MISSED_DELIVERY, 12),
    (spb.REASON_COURIER_MANNER, 10),
    (spb.REASON_DAMAGED, 7),
    (spb.REASON_OTHER, 6),
)
_NAMESPACE = uuid.UUID("8d0c1f6e-2b1f-4a53-9f47-6f1b3c1e9a20")


async def seed(settings: Settings, zone: ZoneInfo, *, shipments: int = 600, days: int = 28) -> int:
    """Produces the history (the same every time: a fixed seed, ids made of it) and returns
    how many shipments it holds."""
    events = list(_records(random.Random(20), zone, shipments, days))
    producer = kafka.producer(settings)
    await producer.start()
    try:
        for topic, key, message in events:
            await producer.send(
                settings.events_topic if topic == "events" else settings.feedback_topic,
                message.SerializeToString(),
                key=key.encode(),
            )
        await producer.flush()
    finally:
        await producer.stop()
    return shipments


def answered(zone: ZoneInfo, *, shipments: int = 600, days: int = 28) -> tuple[int, int]:
    """How many answers the history holds, and how many of them say what went wrong: the
    figures a reader waits for to know it is all in."""
    bodies = [
        m.WhichOneof("body")
        for topic, _, m in _records(random.Random(20), zone, shipments, days)
        if topic == "feedback"
    ]
    return bodies.count("survey_answered"), bodies.count("follow_up_answered")


def _records(
    rng: random.Random, zone: ZoneInfo, shipments: int, days: int
) -> Iterator[tuple[str, str, Message]]:
    today = datetime.now(zone).date()
    for i in range(shipments):
        sid = f"hist-{i + 1:04d}"
        depot = rng.choice(sorted(DEPOTS))
        courier = rng.choice(DEPOTS[depot])
        at = _delivery_time(rng, today, days, zone)
        taps = _shipment(sid, depot, courier, at)
        yield from (("events", sid, e) for e in taps)
        asked = rng.random()
        if asked < 0.75:  # a survey emailed; or the tracking page's question answered
            made = _feedback(rng, sid, taps[-1], depot, courier, at, page=asked >= 0.6)
            yield from (("feedback", sid, f) for f in made)


def _delivery_time(rng: random.Random, today: date, days: int, zone: ZoneInfo) -> datetime:
    day = today - timedelta(days=rng.randint(1, days))
    hour = min(20, max(8, round(rng.gauss(14, 3.5))))
    return datetime.combine(day, time(hour, rng.randint(0, 59)), zone)


def _shipment(sid: str, depot: str, courier: str, at: datetime) -> list[pb.ShipmentEvent]:
    registered = _event(sid, "registered", at - timedelta(hours=26), pb.SOURCE_ORDER_SYSTEM)
    registered.registered.tracking_id = uuid.uuid5(_NAMESPACE, sid).hex[:20]
    registered.registered.depot = depot
    registered.registered.sender.contacts.add(name="Demo Shop")  # no address: no notice
    registered.registered.recipient.contacts.add(name="A customer")
    taps = [registered]
    stages: tuple[tuple[Status, timedelta], ...] = (
        (Status.PICKED_UP, timedelta(hours=20)),
        (Status.OUT_FOR_DELIVERY, timedelta(hours=3)),
        (Status.DELIVERED, timedelta()),
    )
    # a quarter of the couriers' runs tapped the delivery alone: about 75% coverage. Chosen by
    # the id, not by the generator, so that the rest of the history stays as it was.
    if uuid.uuid5(_NAMESPACE, sid).int % 4 == 0:
        stages = stages[-1:]
    for status, before in stages:
        tap = _event(sid, status.value, at - before, pb.SOURCE_COURIER_APP)
        tap.status_changed.status = status.proto
        tap.status_changed.courier_id = courier
        tap.status_changed.location.depot = depot
        taps.append(tap)
    return taps


def _feedback(
    rng: random.Random,
    sid: str,
    delivered: pb.ShipmentEvent,
    depot: str,
    courier: str,
    at: datetime,
    *,
    page: bool,
) -> Iterator[fpb.FeedbackEvent]:
    """By email, not SMS: an unhappy SMS answer would be asked what went wrong, by SMS, now."""
    party = npb.PARTY_ROLE_RECIPIENT
    sv = survey.page_survey_id(sid) if page else survey.survey_id(delivered.event_id, party)
    asked = at + timedelta(hours=2)
    if not page:
        yield _emailed(sid, sv, asked, at)
    if rng.random() > 0.6:  # not answered
        return
    score = _score(rng, depot, courier, at)
    unhappy = survey.Rules().is_unhappy(spb.SCALE_CSAT, score)
    source = spb.ANSWER_SOURCE_PAGE if page else spb.ANSWER_SOURCE_EMAIL
    answered = asked + timedelta(minutes=rng.randint(2, 300))
    yield _feedback_event(
        sid,
        answered,
        ("history", sv, "answer"),
        survey_answered=fpb.SurveyAnswered(
            survey_id=sv, scale=spb.SCALE_CSAT, score=score, source=source, unhappy=unhappy
        ),
    )
    if unhappy and rng.random() < 0.8:
        reason = rng.choices([r for r, _ in _PAINS], [w for _, w in _PAINS])[0]
        yield _feedback_event(
            sid,
            answered + timedelta(minutes=1),
            ("history", sv, "follow-up"),
            follow_up_answered=fpb.FollowUpAnswered(survey_id=sv, reason=reason, source=source),
        )


def _emailed(sid: str, sv: str, asked: datetime, at: datetime) -> fpb.FeedbackEvent:
    notice = survey.notice_id(sv, "survey")
    n = int(sid.rsplit("-", 1)[1])  # a made-up address, reaching nobody
    return _feedback_event(
        sid,
        asked,
        ("sent", notice),
        survey_sent=fpb.SurveySent(
            survey_id=sv,
            party=npb.PARTY_ROLE_RECIPIENT,
            channel=pb.CHANNEL_EMAIL,
            scale=spb.SCALE_CSAT,
            address=f"recipient-{n}@example.com",
            locale="ro",
            time_zone=str(at.tzinfo),
            notification_id=notice,
        ),
    )


def _score(rng: random.Random, depot: str, courier: str, at: datetime) -> int:
    """A CSAT score: mostly satisfied, less so at the weaker depot, with the weaker courier
    and on Friday evenings."""
    good = 0.9
    good -= 0.3 if depot == WORSE_DEPOT else 0
    good -= 0.4 if courier == WORSE_COURIER else 0
    good -= 0.35 if at.weekday() == 4 and at.hour >= 17 else 0
    if rng.random() < good:
        return 5 if rng.random() < 0.6 else 4
    return rng.choice((1, 2, 2, 3, 3))


def _event(sid: str, what: str, at: datetime, source: int) -> pb.ShipmentEvent:
    event = pb.ShipmentEvent(
        event_id=str(uuid.uuid5(_NAMESPACE, f"{sid}:{what}")),
        shipment_id=sid,
        source=source,  # type: ignore[arg-type]
    )
    event.occurred_at.FromDatetime(at)
    event.recorded_at.FromDatetime(at)
    return event


def _feedback_event(
    sid: str, at: datetime, parts: tuple[str, ...], **body: Message
) -> fpb.FeedbackEvent:
    event = fpb.FeedbackEvent(event_id=survey.feedback_event_id(*parts), shipment_id=sid)
    for name, message in body.items():
        getattr(event, name).CopyFrom(message)
    event.occurred_at.FromDatetime(at)
    event.recorded_at.FromDatetime(at)
    return event
