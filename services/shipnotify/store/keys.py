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
    survey id -> the survey's record."""
    return _key(shipment_id, "surveys")


def cases_key(shipment_id: str) -> str:
    """A shipment's call-back cases: case id -> the case's record."""
    return _key(shipment_id, "cases")


def feedback_applied_key(shipment_id: str) -> str:
    """The ids of a shipment's feedback events already applied (once-only)."""
    return _key(shipment_id, "feedback")


def case_key(case_id: str) -> str:
    """A case id's shipment id: an operator names a case by its id alone."""
    return "case:" + case_id


CASES_OPEN = "cases:open"  # a sorted set: the cases not closed, by due time (ms)
CASES_CLOSED = "cases:closed"  # a sorted set: the closed cases, by when they closed (ms)


def sms_survey_key(phone_digest: str) -> str:
    """The survey an SMS reply from this number answers (by a keyed hash of the number):
    "<shipment id>/<survey id>", for as long as the survey takes answers."""
    return "survey:sms:" + phone_digest


def surveyed_key(address_digest: str) -> str:
    """A person (phone or email, by a keyed hash) was asked lately: the survey id, expiring
    when they may be asked again."""
    return "survey:asked:" + address_digest


def survey_help_key(survey_id: str) -> str:
    """An unreadable reply to this survey got its one help reply."""
    return "survey:helped:" + survey_id
