"""Which jobs an applied feedback event calls for: the follow-up question after an unhappy SMS
answer, and for a call-back case the customer's apology and the depot supervisor's alert.
Pure planning, no I/O. A duplicate plans the same jobs as its first application: their ids
derive from the survey and the case, so the notifier sends each once."""

from __future__ import annotations

from shipnotify import i18n
from shipnotify.model import survey
from shipnotify.store.feedback import Case, FeedbackApplied, Survey
from shipnotify.store.tracking import Shipment
from shipnotify.v1 import feedback_pb2 as fpb
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.v1 import survey_pb2 as spb


def feedback_jobs(
    done: FeedbackApplied, rules: survey.Rules, shipment: Shipment | None
) -> list[npb.NotificationJob]:
    """`shipment`: the shipment as Redis now has it (its tracking id, status and timeline);
    None when it is gone."""
    match done.event.WhichOneof("body"):
        case "survey_answered":
            return _follow_up(done, shipment)
        case "case_opened":
            return [*_apology(done, shipment), *_alert(done, rules, shipment)]
    return []


def unaddressed_alert(done: FeedbackApplied, rules: survey.Rules) -> bool:
    """A case opened whose depot has no supervisor to alert (SHIPNOTIFY_DEPOTS names
    neither it nor "*")."""
    return done.opened and _depot(done, rules) is None


def _follow_up(done: FeedbackApplied, shipment: Shipment | None) -> list[npb.NotificationJob]:
    answer = done.event.survey_answered
    sent = done.survey.sent if done.survey else None
    if done.kept_out or not answer.unhappy or answer.source != spb.ANSWER_SOURCE_SMS:
        return []
    if sent is None or sent.channel != pb.CHANNEL_SMS or not sent.address:
        return []
    job = _job(done, shipment, npb.NOTICE_KIND_FOLLOW_UP, answer.survey_id, "follow_up")
    _to_customer(job, sent)
    job.channel = pb.CHANNEL_SMS
    job.scale = sent.scale
    return [job]


def _apology(done: FeedbackApplied, shipment: Shipment | None) -> list[npb.NotificationJob]:
    opened = done.event.case_opened
    sent = done.survey.sent if done.survey else None
    if sent is None or not sent.address:  # the page's answer: the page apologises itself
        return []
    job = _job(done, shipment, npb.NOTICE_KIND_APOLOGY, opened.case_id, "apology")
    _to_customer(job, sent)
    job.survey_id = opened.survey_id
    job.scale = sent.scale
    return [job]


def _alert(
    done: FeedbackApplied, rules: survey.Rules, shipment: Shipment | None
) -> list[npb.NotificationJob]:
    depot = _depot(done, rules)
    if depot is None:
        return []
    opened = done.event.case_opened
    case = done.case
    job = _job(done, shipment, npb.NOTICE_KIND_CASE_ALERT, opened.case_id, "alert")
    job.channel = pb.CHANNEL_EMAIL
    job.address = depot.supervisor
    job.locale = i18n.DEFAULT
    job.time_zone = depot.time_zone
    job.survey_id = opened.survey_id
    alert = job.case_alert
    alert.case_id = opened.case_id
    alert.depot = case.depot if case else opened.depot
    alert.courier_id = case.courier_id if case else opened.courier_id
    if case is not None:
        alert.due_at.FromMilliseconds(case.due_at_ms)
    else:
        alert.due_at.CopyFrom(opened.due_at)
    _answer(alert, done.survey, case)
    for entry in shipment.timeline if shipment else ():
        shown = alert.timeline.add(
            status=entry.status.proto, depot=(entry.location or {}).get("depot", "")
        )
        shown.occurred_at.FromMilliseconds(entry.occurred_at_ms)
        if entry.failure is not None:
            shown.failure = entry.failure.proto
    job.scale = alert.scale
    return [job]


def _answer(alert: npb.CaseAlert, found: Survey | None, case: Case | None) -> None:
    """The answer, its follow-up and the customer, as the alert shows them."""
    answer = case.answer if case and case.answer else found.answer if found else None
    follow_up = case.follow_up if case and case.follow_up else found.follow_up if found else None
    sent = found.sent if found else None
    if answer is not None:
        alert.scale, alert.score, alert.source = answer.scale, answer.score, answer.source
    elif sent is not None:
        alert.scale = sent.scale
    if follow_up is not None:
        alert.reason, alert.comment = follow_up.reason, follow_up.comment
    if sent is not None:
        alert.party = sent.party
        alert.customer_name = sent.name
        if sent.channel == pb.CHANNEL_SMS:
            alert.customer_phone = sent.address
        else:
            alert.customer_email = sent.address


def _depot(done: FeedbackApplied, rules: survey.Rules) -> survey.Depot | None:
    name = done.case.depot if done.case else done.event.case_opened.depot
    return survey.depot_of(rules.depots, name)


def _job(
    done: FeedbackApplied, shipment: Shipment | None, kind: int, key: str, what: str
) -> npb.NotificationJob:
    """A job's fields every kind shares: of the shipment, and of the event that calls for
    it (its id, when it happened and was recorded: a redelivery plans the same)."""
    event = done.event
    return npb.NotificationJob(
        notification_id=survey.notice_id(key, what),
        shipment_id=event.shipment_id,
        event_id=event.event_id,
        tracking_id=shipment.tracking_id if shipment else "",
        status=shipment.status.proto if shipment else pb.STATUS_DELIVERED,
        occurred_at=event.occurred_at,
        planned_at=event.recorded_at,
        kind=kind,  # type: ignore[arg-type]
    )


def _to_customer(job: npb.NotificationJob, sent: fpb.SurveySent) -> None:
    """To the contact the survey went to, on its channel."""
    job.party = sent.party
    job.channel = sent.channel
    job.address = sent.address
    job.name = sent.name
    job.locale = sent.locale
    job.time_zone = sent.time_zone
    job.survey_id = sent.survey_id
