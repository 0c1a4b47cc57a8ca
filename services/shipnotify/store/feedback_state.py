"""A shipment's surveys and cases in Redis, read and written back whole: FeedbackStore.apply
and the tracker's erasure read them, decide in Python (feedback_rules.py), and write back
what changed with one script call a shipment (`feedback_write.lua`), which writes only if
nobody wrote that shipment's feedback since it was read; else they read and decide again.
The keys a call touches share the shipment's hash tag, so it works on Redis Cluster too."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from importlib.resources import files
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from shipnotify.store.feedback_records import (
    case_from_record,
    case_record,
    sms_address,
    survey_from_record,
    survey_record,
)
from shipnotify.store.feedback_rules import ShipmentFeedback
from shipnotify.store.keys import cases_key, feedback_applied_key, state_key, surveys_key
from shipnotify.store.replies import text

_WRITE_LUA = files("shipnotify.store").joinpath("feedback_write.lua").read_text()
_VERSION = b"v"
_TRIES = 8  # a shipment's feedback has one writer but in a rebalance or an erasure


class Contended(RedisError):
    """Another writer changed a shipment's feedback at every try: the caller's batch is
    tried again later, as after any Redis error."""


Change = Callable[[ShipmentFeedback], None]
Digest = Callable[[str], str]  # a phone number's keyed hash (store/digests.py)


class FeedbackStates:
    def __init__(self, redis: Redis, *, keep_days: int) -> None:
        self._redis = redis
        self._write = redis.register_script(_WRITE_LUA)
        self._keep_s = keep_days * 86400

    async def update(
        self, shipment_ids: Iterable[str], change: Change, *, digest: Digest | None = None
    ) -> dict[str, ShipmentFeedback]:
        """Reads each shipment's feedback, lets `change` change it, and writes back what it
        changed; a shipment that another writer changed meanwhile is read and changed again.
        Returns the states as written."""
        pending = list(dict.fromkeys(shipment_ids))
        done: dict[str, ShipmentFeedback] = {}
        for _ in range(_TRIES):
            states = await self.read(pending)
            for state in states.values():
                change(state)
            lost = await self._written(list(states.values()), digest)
            done |= {sid: s for sid, s in states.items() if sid not in lost}
            pending = [sid for sid in pending if sid in lost]
            if not pending:
                return done
        raise Contended(f"the feedback of {len(pending)} shipments kept changing under us")

    async def read(self, shipment_ids: Sequence[str]) -> dict[str, ShipmentFeedback]:
        """Each shipment's surveys, cases and applied event ids, in one round trip."""
        if not shipment_ids:
            return {}
        pipe = self._redis.pipeline(transaction=False)  # reads: on a cluster, a node each
        for sid in shipment_ids:
            pipe.hgetall(surveys_key(sid))
            pipe.hgetall(cases_key(sid))
            pipe.hgetall(feedback_applied_key(sid))
            pipe.hget(state_key(sid), "x")  # when its contacts were erased (apply_events.lua)
        replies = await pipe.execute()
        return {sid: _state(sid, *replies[4 * i : 4 * i + 4]) for i, sid in enumerate(shipment_ids)}

    async def _written(self, states: Sequence[ShipmentFeedback], digest: Digest | None) -> set[str]:
        """Writes each changed state; the shipments whose version had moved (not written)."""
        changed = [s for s in states if s.changed]
        written = await asyncio.gather(*(self._write_one(s, digest) for s in changed))
        return {s.shipment_id for s, ok in zip(changed, written, strict=True) if not ok}

    async def _write_one(self, state: ShipmentFeedback, digest: Digest | None) -> bool:
        sid = state.shipment_id
        args: list[Any] = [state.version, self._keep_s]
        args += [len(state.changed_surveys), len(state.changed_cases)]
        for survey_id in sorted(state.changed_surveys):
            survey = state.surveys[survey_id]
            phone = sms_address(survey)
            if phone and digest is None:
                raise RuntimeError("keeping an SMS survey's number needs its keyed hash")
            hashed = digest(phone) if phone and digest else state.sms_digests.get(survey_id, "")
            args += [survey_id, survey_record(survey, sms_digest=hashed)]
        for case_id in sorted(state.changed_cases):
            args += [case_id, case_record(state.cases[case_id])]
        for event_id, outcome in state.newly_applied.items():
            args += [event_id, outcome]
        keys = [surveys_key(sid), cases_key(sid), feedback_applied_key(sid)]
        # the script object loads the script again if Redis forgot it (a restart)
        return bool(await self._write(keys=keys, args=args))


def _state(
    sid: str,
    surveys: dict[bytes, bytes],
    cases: dict[bytes, bytes],
    applied: dict[bytes, bytes],
    erased: bytes | None,
) -> ShipmentFeedback:
    state = ShipmentFeedback(sid, version=text(applied.pop(_VERSION, b"")))
    state.applied = {text(k): text(v) for k, v in applied.items()}
    for raw_id, raw in surveys.items():
        survey, hashed = survey_from_record(sid, text(raw_id), raw)
        state.surveys[survey.survey_id] = survey
        if hashed:
            state.sms_digests[survey.survey_id] = hashed
    for raw_id, raw in cases.items():
        case_id = text(raw_id)
        case = case_from_record(sid, case_id, raw, None)
        state.cases[case_id] = case
    state.erased_at_ms = erased_at(erased)
    return state


def erased_at(x: bytes | str | None) -> int | None:
    """When the contacts were erased, from the state's `x` ("<ms>,<erasure ids>")."""
    if not x:
        return None
    head = text(x).split(",", 1)[0]
    return int(head) if head.isdigit() else None
