"""What to do with a notice now: a pure function of the notice, what the book holds of it,
what the provider answered, the time and the rules. The worker (worker.py) reads what a
decision needs and performs what it returns.

A notice is decided on at up to three moments: when it is taken up (`before_claim`: a
sender for its channel; for an SMS or a push an erasure, an opt-out, a later status waiting,
quiet hours; the channel's breaker), once claimed (`after_claim`: sent already, held by another
sender, cancelled; a survey, `asked`: whether its person was asked lately), and once the
provider answered (`after_send`). An attempt that failed as no rule foresaw is decided on by
`after_error`.

The survey loop's notices (a job's `kind`: survey, follow-up, apology, case alert) have
rules of their own when taken up (`_loop_before_claim`): none is superseded by a status, nor
supersedes one; a survey waits for its `not_before`, then for the contact's waking hours (by
SMS and by email), with a plain `Wait`; the others go at once. So does the email telling an
account's team that its webhook endpoint was disabled (NOTICE_KIND_ENDPOINT_DISABLED), the
one channel it has words for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from shipnotify import backoff
from shipnotify.config import Settings
from shipnotify.model import webhooks as wh
from shipnotify.model.quiet import Window, parse_window, quiet_until
from shipnotify.notifier.outcomes import Outcome, Sent
from shipnotify.store.notices import CANCELLED, Claim, SmsGate
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb

Tally = Literal["sent", "failed", "skipped", "gone"]  # the count a notice's end adds to
# The channels that wake a phone: they wait out the quiet hours, and then only the latest
# status of a contact (an SMS's number, a push subscription's endpoint) goes.
QUIET_CHANNELS = frozenset((pb.CHANNEL_SMS, pb.CHANNEL_PUSH))
# Providers that cannot be asked whether they have a message (SMTP, a push service): that
# one took it is noted at once, before what follows a send (the SMS provider is asked; a
# webhook's receiver knows its webhook-id).
NOTED_WHEN_GONE = frozenset((pb.CHANNEL_EMAIL, pb.CHANNEL_PUSH))

STATUS = npb.NOTICE_KIND_UNSPECIFIED  # a job's kind when it tells of a status
# The survey loop's kinds, and an account's team's notice of its disabled endpoint, as the
# book, the metrics and the logs name them.
KIND_NAMES = {
    npb.NOTICE_KIND_SURVEY: "survey",
    npb.NOTICE_KIND_FOLLOW_UP: "follow_up",
    npb.NOTICE_KIND_APOLOGY: "apology",
    npb.NOTICE_KIND_CASE_ALERT: "case_alert",
    npb.NOTICE_KIND_ENDPOINT_DISABLED: "endpoint_disabled",
}
# The channels each has words for: a follow-up asks for an SMS reply; an alert and a team's
# notice of its disabled endpoint are emails.
_KIND_CHANNELS = {
    npb.NOTICE_KIND_SURVEY: frozenset((pb.CHANNEL_SMS, pb.CHANNEL_EMAIL)),
    npb.NOTICE_KIND_FOLLOW_UP: frozenset((pb.CHANNEL_SMS,)),
    npb.NOTICE_KIND_APOLOGY: frozenset((pb.CHANNEL_SMS, pb.CHANNEL_EMAIL)),
    npb.NOTICE_KIND_CASE_ALERT: frozenset((pb.CHANNEL_EMAIL,)),
    npb.NOTICE_KIND_ENDPOINT_DISABLED: frozenset((pb.CHANNEL_EMAIL,)),
}

# spreads of the times at which notices that wait for the same thing come due again
PAUSE_SPREAD_MS = 500
LEASE_SPREAD_MS = (100, 1000)
ENDPOINT_FULL_SPREAD_MS = (50, 250)  # a webhook whose endpoint has its tries in flight


WEBHOOK_SCHEDULE = wh.Schedule(first_s=2.0, max_delay_s=3600.0, max_age_s=80 * 3600)


@dataclass(frozen=True)
class Rules:
    quiet: Window | None
    retry_first_s: float
    retry_max_delay_s: float
    retry_max_age_s: float
    # a webhook's tries: backoff up to its own cap, until its own age from when it was made
    webhooks: wh.Schedule = WEBHOOK_SCHEDULE

    @classmethod
    def of(cls, settings: Settings) -> Rules:
        return cls(
            quiet=parse_window(settings.quiet_hours),
            retry_first_s=settings.retry_first_s,
            retry_max_delay_s=settings.retry_max_delay_s,
            retry_max_age_s=settings.retry_max_age_s,
            webhooks=wh.Schedule(
                first_s=settings.retry_first_s,
                max_delay_s=settings.webhook_retry_max_delay_s,
                max_age_s=settings.webhook_max_age_s,
            ),
        )


@dataclass(frozen=True)
class Go:
    """Nothing holds the notice back: claim it; the claim decides the rest."""


@dataclass(frozen=True)
class Send:
    """Claimed for attempt `attempt`: send it; in doubt (its last sender died mid-send),
    first ask the provider whether it has had the message since then."""

    attempt: int
    in_doubt_since_ms: int | None = None


@dataclass(frozen=True)
class Went:
    """Claimed for attempt `attempt`, though the provider took the message (`provider_id`)
    in an earlier one whose sender died before the notice was final: not sent again; what
    follows a send follows."""

    attempt: int
    provider_id: str


@dataclass(frozen=True)
class Final:
    """The notice ends in `state`, with the reason, the provider's code or its id where
    they are known; `opt_out`: the address refuses our messages, so it is remembered;
    `unsubscribe`: the push subscription is gone, so the tracker is told to delete it;
    `survey_sent`: the provider took a survey, so the feedback topic is told (SurveySent)."""

    state: str
    reason: str | None = None
    code: str | None = None
    provider_id: str | None = None
    tally: Tally | None = None
    opt_out: bool = False
    unsubscribe: bool = False
    survey_sent: bool = False
    disable_endpoint: bool = False  # a webhook endpoint answered 410: it is disabled


@dataclass(frozen=True)
class GiveUp:
    """A dead letter with the reason (`shipnotify redrive` sends it again), then the
    notice is dead."""

    reason: str
    attempts: int | None = None
    why: str = "gave_up"
    tally: Tally | None = None


@dataclass(frozen=True)
class Retry:
    """Tried again at a time from `earliest_ms` to `latest_ms` (a spread keeps notices
    that failed together from coming back together); `in_doubt_since_ms`: the provider may
    have the message since then, so the next attempt asks it first."""

    earliest_ms: int
    latest_ms: int
    reason: str
    in_doubt_since_ms: int | None = None


@dataclass(frozen=True)
class Defer:
    """Quiet hours: the SMS or push waits for the morning, `until_ms`; only the contact's
    latest status goes then."""

    until_ms: int


@dataclass(frozen=True)
class Wait:
    """Not yet: the notice comes due again at `until_ms` (a survey before its time, or in
    its contact's quiet hours). Unlike Defer it touches no status's turn: a waiting survey
    supersedes nothing and nothing supersedes it."""

    until_ms: int


@dataclass(frozen=True)
class LookAgain:
    """Another sender holds the notice: due again once its lease has ended, in case that
    sender died."""

    earliest_ms: int
    latest_ms: int


@dataclass(frozen=True)
class AlreadySent:
    """Sent before (a job delivered twice, or due again): it only leaves the due set."""


# what the worker performs; Go and Send lead on to the next moment's decision
Effect = Final | GiveUp | Retry | Defer | Wait | LookAgain | AlreadySent


def before_claim(
    job: npb.NotificationJob,
    *,
    has_sender: bool,
    gate: SmsGate | None,
    paused_s: float,
    now_ms: int,
    rules: Rules,
) -> Final | Defer | Wait | Retry | Go:
    """`gate`: what the book holds of the address of an SMS or a push and of its shipment
    (None for an email); `paused_s`: how long the channel's breaker keeps it paused still
    (0: closed)."""
    if not has_sender:
        return Final("rejected", reason="no sender for this channel")
    if job.kind != STATUS:
        return _loop_before_claim(job, gate=gate, paused_s=paused_s, now_ms=now_ms, rules=rules)
    if job.channel in QUIET_CHANNELS:
        if gate is None:
            raise ValueError("an SMS or a push is decided on with what the book holds of it")
        if gate.erased:
            return Final("cancelled", tally="skipped")
        if gate.opted_out:
            return Final("opted_out", tally="skipped")
        if gate.later_deferred:  # a later status for this contact waits: only it goes
            return Final("superseded", tally="skipped")
        now = datetime.fromtimestamp(now_ms / 1000, UTC)
        if (morning := quiet_until(now, job.time_zone, rules.quiet)) is not None:
            return Defer(int(morning.timestamp() * 1000))
    return _unless_paused(paused_s, now_ms)


def _loop_before_claim(
    job: npb.NotificationJob, *, gate: SmsGate | None, paused_s: float, now_ms: int, rules: Rules
) -> Final | Wait | Retry | Go:
    """A notice of the survey loop, taken up. Its SMS never goes to a number that opted
    out, nor after its shipment's contacts were erased (an email's claim cancels it then)."""
    if job.channel not in _KIND_CHANNELS.get(job.kind, ()):
        kind = KIND_NAMES.get(job.kind, f"kind {job.kind}")
        return Final("rejected", reason=f"{kind}: no words for this channel")
    if job.channel == pb.CHANNEL_SMS:
        if gate is None:
            raise ValueError("an SMS is decided on with what the book holds of it")
        if gate.erased:
            return Final("cancelled", tally="skipped")
        if gate.opted_out:
            return Final("opted_out", tally="skipped")
    if job.kind == npb.NOTICE_KIND_SURVEY:
        if job.HasField("not_before") and now_ms < (not_before := job.not_before.ToMilliseconds()):
            return Wait(not_before)
        now = datetime.fromtimestamp(now_ms / 1000, UTC)
        if (morning := quiet_until(now, job.time_zone, rules.quiet)) is not None:
            return Wait(int(morning.timestamp() * 1000))
    # a follow-up, an apology, an alert, an endpoint disabled: someone waits to hear now
    return _unless_paused(paused_s, now_ms)


def webhook_before_claim(
    endpoint: apb.Endpoint | None, *, full: bool, paused_until_ms: int | None, now_ms: int
) -> Final | LookAgain | Go:
    """A webhook, taken up with its endpoint as it is now: a removed or disabled endpoint's
    message ends without a try (it stays in the endpoint's message store, for a replay); one
    whose endpoint is paused (Retry-After) or has its tries in flight already comes due
    again a little later, holding nothing meanwhile."""
    if endpoint is None:
        return Final("removed", reason="the endpoint was removed", tally="skipped")
    if endpoint.disabled:
        return Final("disabled", reason=endpoint.disabled_reason or None, tally="skipped")
    if paused_until_ms is not None:
        return LookAgain(paused_until_ms, paused_until_ms + PAUSE_SPREAD_MS)
    if full:
        first, last = ENDPOINT_FULL_SPREAD_MS
        return LookAgain(now_ms + first, now_ms + last)
    return Go()


def _unless_paused(paused_s: float, now_ms: int) -> Retry | Go:
    if paused_s > 0:
        due = now_ms + int(paused_s * 1000)
        return Retry(due, due + PAUSE_SPREAD_MS, "provider paused after failures")
    return Go()


def planned_ms(job: npb.NotificationJob) -> int:
    """When the notice was planned, as an erasure of its shipment's contacts is compared
    with (a notice planned before it is cancelled). A survey's planned_at is its time to
    go, after the delivery it was planned at: the delivery's time stands for it."""
    planned = job.occurred_at if job.kind == npb.NOTICE_KIND_SURVEY else job.planned_at
    return int(planned.ToMilliseconds())


def after_claim(claim: Claim) -> AlreadySent | Final | LookAgain | Send | Went:
    if claim.attempt == 0:
        return AlreadySent()
    if claim.attempt == CANCELLED:  # its contacts were erased after it was planned
        return Final("cancelled", tally="skipped")
    if claim.attempt < 0:
        first, last = LEASE_SPREAD_MS
        return LookAgain(claim.until_ms + first, claim.until_ms + last)
    if claim.went:
        return Went(claim.attempt, claim.went)
    return Send(claim.attempt, claim.in_doubt_since_ms)


def asked(send: Send, *, may_ask: bool) -> Send | Final:
    """A survey, claimed: it goes only if the throttle booked its person for it (nobody is
    asked twice within SHIPNOTIFY_SURVEY_EVERY_DAYS)."""
    return send if may_ask else Final("throttled", tally="skipped")


def after_send(
    job: npb.NotificationJob, outcome: Outcome, *, claim: Claim, now_ms: int, rules: Rules
) -> Final | GiveUp | Retry:
    """What the provider's answer to attempt `claim.attempt` makes of the notice."""
    if job.channel == pb.CHANNEL_WEBHOOK:
        return _webhook_after_send(job, outcome, claim=claim, now_ms=now_ms, rules=rules)
    if isinstance(outcome, Sent):
        survey = job.kind == npb.NOTICE_KIND_SURVEY
        return Final(
            "sent", provider_id=outcome.provider_id or None, tally="sent", survey_sent=survey
        )
    if outcome.gone:  # not the notice's failure: its reader left
        return Final(
            "gone", reason=outcome.reason, code=outcome.code, tally="gone", unsubscribe=True
        )
    if outcome.unbuildable:  # every attempt would fail the same way
        return GiveUp(outcome.reason, why="unbuildable", tally="failed")
    if outcome.dead_letter:  # so would every attempt until we fix what the provider refused
        return GiveUp(outcome.reason, why="rejected", tally="failed")
    if outcome.permanent:
        return Final(
            "opted_out" if outcome.opted_out else "rejected",
            reason=outcome.reason,
            code=outcome.code,
            tally="failed",
            opt_out=outcome.opted_out,
        )
    if _too_old(job, now_ms, rules):
        return GiveUp(outcome.reason, attempts=claim.attempt)
    delay_ms = int(
        1000
        * backoff.delay_s(claim.attempt, first_s=rules.retry_first_s, cap_s=rules.retry_max_delay_s)
    )
    earliest, latest = now_ms + delay_ms // 2, now_ms + delay_ms
    if outcome.retry_after_s is not None:  # not before the provider said, spread past it
        # (but no later than the age limit: past it the next attempt gives up)
        wait_s = min(outcome.retry_after_s, rules.retry_max_age_s)
        earliest = max(earliest, now_ms + int(wait_s * 1000))
        latest = max(latest, earliest + PAUSE_SPREAD_MS)
    # unknown: the provider may have the message; the next attempt asks it first
    doubt = (claim.in_doubt_since_ms or claim.at_ms) if outcome.unknown else None
    return Retry(earliest, latest, outcome.reason, doubt)


def _webhook_after_send(
    job: npb.NotificationJob, outcome: Outcome, *, claim: Claim, now_ms: int, rules: Rules
) -> Final | GiveUp | Retry:
    """An endpoint's answer (model/webhooks.py says what each means): sent; gone (410: the
    endpoint is disabled); removed meanwhile; else tried again, not before a Retry-After,
    until the maximum age from when the message was made, then a dead letter."""
    if isinstance(outcome, Sent):
        return Final("sent", provider_id=outcome.provider_id or None, tally="sent")
    if outcome.gone:
        return Final(
            "gone", reason=outcome.reason, code=outcome.code, tally="gone", disable_endpoint=True
        )
    if outcome.permanent:  # the endpoint was removed since the message was taken up
        return Final("removed", reason=outcome.reason, code=outcome.code, tally="skipped")
    due = wh.next_try_ms(
        claim.attempt,
        created_ms=job.webhook.created_at.ToMilliseconds(),
        now_ms=now_ms,
        retry_after=outcome.retry_after_s,
        schedule=rules.webhooks,
    )
    if due is None:
        return GiveUp(outcome.reason, attempts=claim.attempt, tally="failed")
    return Retry(due, due + PAUSE_SPREAD_MS, outcome.reason)


def after_error(
    job: npb.NotificationJob, reason: str, *, now_ms: int, rules: Rules
) -> GiveUp | Retry:
    """A failure no rule foresaw (a bug, a library's surprise): tried again after the
    longest delay, as a transient failure, and given up at the age limit."""
    if _too_old(job, now_ms, rules):
        return GiveUp(reason)
    due = now_ms + int(rules.retry_max_delay_s * 1000)
    return Retry(due, due, reason)


def _too_old(job: npb.NotificationJob, now_ms: int, rules: Rules) -> bool:
    return now_ms - int(job.planned_at.ToMilliseconds()) > rules.retry_max_age_s * 1000
