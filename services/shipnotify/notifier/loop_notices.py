"""What a job of the survey loop says (its `kind`: survey, follow-up, apology, case alert),
or of an account's team (its webhook endpoint disabled), from what it carries: its SMS text
or its email. The senders ask here for every job that is not a status's. The survey email's
links go to hooks' landing page (`webhook_url`, or `public_url`), each with the survey's
signed token and its score."""

from __future__ import annotations

from shipnotify.config import Settings
from shipnotify.i18n import language_for
from shipnotify.model import survey
from shipnotify.model.ids import tracking_url
from shipnotify.notifier import endpoint_texts, survey_texts
from shipnotify.notifier.texts import Email
from shipnotify.v1 import notifications_pb2 as npb


def sms_text(job: npb.NotificationJob) -> str:
    """ValueError for a kind that has no SMS."""
    lang = language_for(job.locale)
    match job.kind:
        case npb.NOTICE_KIND_SURVEY:
            return survey_texts.survey_sms(lang, job.scale)
        case npb.NOTICE_KIND_FOLLOW_UP:
            return survey_texts.follow_up_sms(lang)
        case npb.NOTICE_KIND_APOLOGY:
            return survey_texts.apology_sms(lang)
    raise ValueError(f"no SMS for a notice of kind {job.kind}")


def email(job: npb.NotificationJob, settings: Settings) -> Email:
    """ValueError for a kind that has no email."""
    lang = language_for(job.locale)
    link = tracking_url(settings.public_url, job.tracking_id)
    match job.kind:
        case npb.NOTICE_KIND_SURVEY:
            return survey_texts.survey_email(
                lang, job.scale, links=survey_links(job, settings), name=job.name
            )
        case npb.NOTICE_KIND_APOLOGY:
            return survey_texts.apology_email(lang, tracking_url=link, name=job.name)
        case npb.NOTICE_KIND_CASE_ALERT:
            return survey_texts.case_alert_email(
                lang, job.case_alert, time_zone=job.time_zone, tracking_url=link
            )
        case npb.NOTICE_KIND_ENDPOINT_DISABLED:
            return endpoint_texts.endpoint_disabled_email(
                lang, job.endpoint_alert, time_zone=job.time_zone, name=job.name
            )
    raise ValueError(f"no email for a notice of kind {job.kind}")


def survey_links(job: npb.NotificationJob, settings: Settings) -> dict[int, str]:
    """Score -> the landing page's link with it chosen, for each score of the job's scale."""
    if not job.survey_id:
        raise ValueError("a survey job names no survey")
    base = settings.webhook_url or settings.public_url
    token = survey.survey_token(settings.opt_out_secret, job.shipment_id, job.survey_id)
    low, high = survey_texts.scale_range(job.scale)
    return {score: survey.survey_link(base, token, score) for score in range(low, high + 1)}
