"""Every Redis key the services share, spelt in one place.

A shipment's keys share the hash tag `{shp:<shipment id>}`, so that a script call on one
shipment touches one Redis Cluster slot; scripts get every key they touch through KEYS.
"""

from __future__ import annotations

STORE_MARKER = "shipnotify:store"  # set on a first start and by a rebuild (store/intact.py)
BENCH_SCRATCH = "bench:raw"  # what `shipnotify bench` writes and deletes to time Redis alone

# A shipment's keys in the apply script's order (store/apply_events.lua): state, timeline,
# parties (its contacts), updates (a pub/sub channel, no key), pending (ingest's records of
# its events not yet applied), notices (final), quiet (phone numbers whose SMS, and push
# endpoints whose pushes, wait for the morning). `sending` (the notices in flight) is the
# notifier's alone.
SHIPMENT_KEY_NAMES = ("state", "timeline", "parties", "updates", "pending", "notices", "quiet")


def _key(shipment_id: str, name: str) -> str:
    return "{shp:" + shipment_id + "}:" + name


def shipment_keys(shipment_id: str) -> list[str]:
    """A shipment's keys, named as in SHIPMENT_KEY_NAMES."""
    tag = _key(shipment_id, "")  # the tracker asks for every event's: made once
    return [tag + name for name in SHIPMENT_KEY_NAMES]


def state_key(shipment_id: str) -> str:
    """A hash: apply_events.lua's fields (s, o, v, t, g, x, and c, when its earliest courier
    tap happened: whether its delivery was covered, day_figures.py), `d`, the courier whose
    delivery made it delivered (couriers.py; a call-back case's courier when none is
    assigned), and `l`, where the console's lists hold it (shipment_list.py):
    "<account>|<registered at, ms>|<status>", account "" the carrier's."""
    return _key(shipment_id, "state")


def timeline_key(shipment_id: str) -> str:
    return _key(shipment_id, "timeline")


def parties_key(shipment_id: str) -> str:
    return _key(shipment_id, "parties")


def updates_channel(shipment_id: str) -> str:
    """The sharded pub/sub channel on which each change of the shipment announces its new
    version: it shares the hash tag, so it works on Redis Cluster too."""
    return _key(shipment_id, "updates")


def pending_key(shipment_id: str) -> str:
    return _key(shipment_id, "pending")


def notices_key(shipment_id: str) -> str:
    """The final notices of a shipment."""
    return _key(shipment_id, "notices")


def sending_key(shipment_id: str) -> str:
    """The notices in flight; the key is gone once they all are final."""
    return _key(shipment_id, "sending")


def quiet_key(shipment_id: str) -> str:
    return _key(shipment_id, "quiet")


def courier_key(shipment_id: str) -> str:
    """The courier a shipment is assigned to (its id; no key: nobody's)."""
    return _key(shipment_id, "courier")


def push_key(shipment_id: str) -> str:
    """A shipment's Web Push subscriptions: endpoint -> PushSubscribed (protobuf bytes)."""
    return _key(shipment_id, "push")


def run_key(courier_id: str) -> str:
    """A courier's shipments (a sorted set, scored by when each was assigned, in ms): its run.
    A shipment given to another courier since may linger; the courier key decides."""
    return "run:" + courier_id


def tracking_key(tracking_id: str) -> str:
    """A public tracking id's shipment id."""
    return "trk:" + tracking_id


def opt_out_key(phone_digest: str) -> str:
    """An SMS opt-out, by a keyed hash of the number (never the number itself)."""
    return "optout:sms:" + phone_digest


def due_key(jobs_topic: str) -> str:
    """The due set of one jobs topic (so that stacks sharing a Redis stay apart)."""
    return "notifier:due:" + jobs_topic


def rate_limit_key(client: str, window: int) -> str:
    """A client's count of requests to the public routes in one window (status_api)."""
    return f"rl:{client}:{window}"


# ---- surveys and call-back cases (store/feedback.py) ----


def surveys_key(shipment_id: str) -> str:
    """A shipment's surveys (sent, or its tracking page's) with their answers and follow-ups:
    survey id -> the survey's record, compact JSON (feedback_records.py): {"sent":
    SurveySent, "sent_at": ms, "answer": SurveyAnswered, "answered_at": ms,
    "first_answered_at": ms, "follow_up": FollowUpAnswered, "sms": the SMS number's keyed
    hash}, the messages in protobuf's JSON form (proto field names, enums by number), empty
    members left out. An erasure leaves SurveySent without address and name, and no "sms".
    Expires SHIPNOTIFY_RETENTION_DAYS after the shipment's last feedback change."""
    return _key(shipment_id, "surveys")


def cases_key(shipment_id: str) -> str:
    """A shipment's call-back cases: case id -> the case's record, compact JSON
    (feedback_records.py): {"survey_id", "state": open|in_progress|closed, "opened_at": ms,
    "due_at": ms, "depot", "courier_id", "taken_by", "notes": [[ms, operator, text], ...],
    "closed": CaseClosed, "closed_at": ms}; its answer and follow-up are its survey's.
    Expires with the surveys."""
    return _key(shipment_id, "cases")


def feedback_applied_key(shipment_id: str) -> str:
    """The ids of a shipment's feedback events already applied (once-only): a hash, event id
    -> "a" (applied) or "k" (kept out: too late, or a change to an unknown or closed case),
    and "v", the version feedback_write.lua compares before it writes. Expires with the
    surveys."""
    return _key(shipment_id, "feedback")


def case_key(case_id: str) -> str:
    """A case id's shipment id: an operator names a case by its id alone. Expires
    SHIPNOTIFY_RETENTION_DAYS after the case's last change."""
    return "case:" + case_id


# Sorted sets of case ids: the cases not closed (open, in progress) by due time (ms), and the
# closed ones by when they closed (ms). Each write of a case puts it in its list; a list
# forgets a case whose score is SHIPNOTIFY_RETENTION_DAYS old.
CASES_OPEN = "cases:open"
CASES_CLOSED = "cases:closed"


def sms_survey_key(phone_digest: str) -> str:
    """The survey an SMS reply from this number answers (by a keyed hash of the number):
    "<shipment id>/<survey id>", for as long as the survey takes answers (it expires
    SHIPNOTIFY_SURVEY_ANSWER_DAYS after the survey was sent); a later survey to the number
    takes it over. An erasure of the shipment's contacts deletes it."""
    return "survey:sms:" + phone_digest


def surveyed_key(address_digest: str) -> str:
    """A person (phone or email, by a keyed hash) was asked lately: the survey id, expiring
    when they may be asked again."""
    return "survey:asked:" + address_digest


def survey_help_key(survey_id: str) -> str:
    """An unreadable reply to this survey got its one help reply."""
    return "survey:helped:" + survey_id


# ---- business customers' accounts (store/accounts.py) and webhooks (store/webhooks.py) ----
# An account's keys share the hash tag `{acct:<account id>}`, an endpoint's `{ep:<id>}`.


def _account(account_id: str, name: str) -> str:
    return "{acct:" + account_id + "}:" + name


def account_key(account_id: str) -> str:
    """A hash: "name", "created_at" (ms), "team" (TeamSet bytes), "survey" (SurveySettings
    bytes)."""
    return _account(account_id, "account")


def account_keys_key(account_id: str) -> str:
    """An account's API keys not revoked: key id -> KeyAdded (protobuf bytes)."""
    return _account(account_id, "keys")


def account_endpoints_key(account_id: str) -> str:
    """An account's webhook endpoints: endpoint id -> Endpoint (protobuf bytes)."""
    return _account(account_id, "endpoints")


def account_applied_key(account_id: str) -> str:
    """The ids of an account's events already applied (once-only): a hash, event id -> "a"."""
    return _account(account_id, "applied")


ACCOUNTS = "accounts"  # a hash: account id -> name (the operators' list)


def api_key_key(sha256: str) -> str:
    """An account key, by the hex SHA-256 of the whole key: "<account id> <key id>"."""
    return "apikey:" + sha256


OWNER_TTL_S = 400 * 86400  # outlives the shipment's own keys, as its tracking link does


def owner_key(shipment_id: str) -> str:
    """The account a shipment belongs to (its id); no key: the carrier's own. Set once, by
    ingest at registration (so a second account cannot take the id) and by the tracker."""
    return _key(shipment_id, "owner")


def _endpoint(endpoint_id: str, name: str) -> str:
    return "{ep:" + endpoint_id + "}:" + name


def endpoint_messages_key(endpoint_id: str) -> str:
    """The messages planned for an endpoint, by when each was made (ms): a sorted set of
    message ids, for replays; trimmed to SHIPNOTIFY_WEBHOOK_LOG_DAYS."""
    return _endpoint(endpoint_id, "messages")


def endpoint_bodies_key(endpoint_id: str) -> str:
    """Those messages' jobs: message id -> NotificationJob (protobuf bytes)."""
    return _endpoint(endpoint_id, "bodies")


def endpoint_log_key(endpoint_id: str) -> str:
    """The endpoint's delivery log, a stream: one entry per try (message id, try, status,
    latency, error), capped."""
    return _endpoint(endpoint_id, "log")


def endpoint_health_key(endpoint_id: str) -> str:
    """A hash: "failing_since" (ms, the first failure after the last success; absent while
    it succeeds), "last_ok" (ms)."""
    return _endpoint(endpoint_id, "health")


# ---- the per-day figures (store/survey_days.py, day_figures.py): a month's keys under one tag ----


def _month(month: str, name: str) -> str:
    return "{agg:" + month + "}:" + name


def survey_parts_key(day: str) -> str:
    """A hash: survey id -> what it adds to its day's cuts (JSON), so that a later answer
    replaces its earlier one; kept while a survey of that day still takes answers."""
    return _month(day[:7], f"{day[8:]}:surveys")


def survey_cut_key(period: str, cut: str, account: str = "") -> str:
    """A hash: a cut's cells' counts (model/survey_days.py names the fields; of the cuts
    "shipments" and "notices", model/day_figures.py) on a day
    (YYYY-MM-DD) or in a month (YYYY-MM: the sum of its days, kept beside them so that a
    long period reads a hash a month), of every shipment, or of one account's. A month's
    days and the month share the tag: one script call writes a survey's day and month."""
    name = f"acct:{account}:{cut}" if account else cut
    return _month(period[:7], f"{period[8:]}:{name}" if len(period) > 7 else name)


def figure_parts_key(day: str, kind: str) -> str:
    """A hash: what each shipment ("r:<id>" its registration, "d:<id>" its delivery) or each
    notice (its notification id; "r:<id>" its SMS delivery receipt) adds to its day's cut
    `kind` ("shipments", "notices": model/day_figures.py names the fields), JSON, so that a
    later fold replaces the earlier one (store/day_figures.py); kept while the part may
    change. The cuts are survey_cut_key's, named by the kind."""
    return _month(day[:7], f"{day[8:]}:parts:{kind}")


def console_session_key(token_digest: str) -> str:
    """A hash: a console session (console/sessions.py), under the SHA-256 of its cookie's
    token; it expires with the session."""
    return f"console:session:{token_digest}"


def console_link_key(token_digest: str) -> str:
    """A hash: a console sign-in link not used yet (console/links.py), under the SHA-256 of
    its token: the account and the team member's address; it expires with the link."""
    return f"console:link:{token_digest}"


# ---- the shipments listed by account (store/shipment_list.py), for the console ----


def shipments_key(account: str, status: str) -> str:
    """A sorted set of shipment ids by registration time (ms): an account's (account "":
    every shipment, the operator's) of one status (its name, e.g. "delivered"), so that a
    status filter reads only the rows it shows, and a page of every status merges the
    statuses' first rows. The tracker moves a shipment between the status sets as it
    changes; each set forgets a shipment registered SHIPNOTIFY_RETENTION_DAYS ago. An
    account id has no ":", so the names never collide."""
    return "shipments:" + ("acct:" + account if account else "all") + ":" + status


FAILED_NOTICES = "notices:failed"  # every account's (the operator's list)


def failed_notices_key(account_id: str = "") -> str:
    """The notices that ended in a failure (failed, undelivered, rejected, dead), a sorted
    set of "<shipment id> <notification id>" by when they ended (ms): every account's ("",
    the operator's), or one account's (its shipments' owner's). The notifier adds a notice
    when it ends so and hooks when a delivery receipt says so; one sent again and sent
    leaves it; those older than the retention go as others come (store/notice_failures.py).
    The console's failed notices page reads a page of it, newest first."""
    return FAILED_NOTICES if not account_id else _account(account_id, "failed_notices")
