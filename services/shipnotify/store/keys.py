"""Every Redis key the services share, spelt in one place.

A shipment's keys share the hash tag `{shp:<shipment id>}`, so that a script call on one
shipment touches one Redis Cluster slot; scripts get every key they touch through KEYS.
"""

from __future__ import annotations

STORE_MARKER = "shipnotify:store"  # set on a first start and by a rebuild (store/intact.py)


def _tag(shipment_id: str) -> str:
    return "{shp:" + shipment_id + "}"


def shipment_keys(shipment_id: str) -> list[str]:
    """A shipment's keys in the apply script's order (store/apply_events.lua):
    state, timeline, parties (its contacts), updates (a pub/sub channel, no key), pending
    (ingest's records of its events not yet applied), notices (final), quiet (phone numbers
    whose SMS wait for the morning)."""
    tag = _tag(shipment_id)
    return [
        tag + ":state",
        tag + ":timeline",
        tag + ":parties",
        tag + ":updates",
        tag + ":pending",
        tag + ":notices",
        tag + ":quiet",
    ]


def state_key(shipment_id: str) -> str:
    return _tag(shipment_id) + ":state"


def timeline_key(shipment_id: str) -> str:
    return _tag(shipment_id) + ":timeline"


def parties_key(shipment_id: str) -> str:
    return _tag(shipment_id) + ":parties"


def pending_key(shipment_id: str) -> str:
    return _tag(shipment_id) + ":pending"


def notices_key(shipment_id: str) -> str:
    """The final notices of a shipment."""
    return _tag(shipment_id) + ":notices"


def sending_key(shipment_id: str) -> str:
    """The notices in flight; the key is gone once they all are final."""
    return _tag(shipment_id) + ":sending"


def quiet_key(shipment_id: str) -> str:
    return _tag(shipment_id) + ":quiet"


def tracking_key(tracking_id: str) -> str:
    """A public tracking id's shipment id."""
    return "trk:" + tracking_id


def opt_out_key(phone_digest: str) -> str:
    """An SMS opt-out, by a keyed hash of the number (never the number itself)."""
    return "optout:sms:" + phone_digest


def due_key(jobs_topic: str) -> str:
    """The due set of one jobs topic (so that stacks sharing a Redis stay apart)."""
    return "notifier:due:" + jobs_topic
