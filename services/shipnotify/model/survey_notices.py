"""Who is asked the post-delivery question, on which channel, and when: the SURVEY jobs a
delivery calls for. Pure planning, no I/O; the notifier moves each into the contact's waking
hours, asks a person at most once in SHIPNOTIFY_SURVEY_EVERY_DAYS and never after an
opt-out."""

from __future__ import annotations

from shipnotify.model import survey
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb

SMS, EMAIL = pb.CHANNEL_SMS, pb.CHANNEL_EMAIL


def surveyed(party: pb.Party) -> pb.Contact | None:
    """A party's contact to ask: the first that takes surveys and can be reached."""
    return next((c for c in party.contacts if not c.no_surveys and (c.phone or c.email)), None)


def survey_route(contact: pb.Contact) -> tuple[pb.Channel, str]:
    """(channel, address): the first of its preferred channels that is SMS with a phone or
    email with an address; with none such, SMS if it has a phone, else email."""
    for channel in contact.channels:
        if channel == SMS and contact.phone:
            return SMS, contact.phone
        if channel == EMAIL and contact.email:
            return EMAIL, contact.email
    return (SMS, contact.phone) if contact.phone else (EMAIL, contact.email)


def survey_jobs(
    delivered: pb.ShipmentEvent, registered: pb.ShipmentRegistered, rules: survey.Rules
) -> list[npb.NotificationJob]:
    """The SURVEY jobs of a delivery that made its shipment delivered: one a party that has
    a contact to ask, sender first. Everything in them derives from the event, so that a
    redelivered event plans the same jobs."""
    due_ms = delivered.occurred_at.ToMilliseconds() + int(rules.delay.total_seconds() * 1000)
    jobs = []
    for party, members in (
        (npb.PARTY_ROLE_SENDER, registered.sender),
        (npb.PARTY_ROLE_RECIPIENT, registered.recipient),
    ):
        contact = surveyed(members)
        if contact is None:
            continue
        channel, address = survey_route(contact)
        survey_id = survey.survey_id(delivered.event_id, party)
        job = npb.NotificationJob(
            notification_id=survey.notice_id(survey_id, "survey"),
            shipment_id=delivered.shipment_id,
            event_id=delivered.event_id,
            tracking_id=registered.tracking_id,
            party=party,
            channel=channel,
            address=address,
            name=contact.name,
            locale=contact.locale,
            time_zone=contact.time_zone,
            status=pb.STATUS_DELIVERED,
            occurred_at=delivered.occurred_at,
            kind=npb.NOTICE_KIND_SURVEY,
            survey_id=survey_id,
            scale=rules.scale,  # type: ignore[arg-type]  # a Scale number
        )
        job.planned_at.FromMilliseconds(due_ms)
        job.not_before.FromMilliseconds(due_ms)
        jobs.append(job)
    return jobs
