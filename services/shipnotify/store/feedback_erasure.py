"""A shipment's contacts erased (ContactsErased, on the events topic): its surveys forget
their person (address, name) and the SMS reply keys that pointed at them go. The tracker
does it where it applies the erasure (TrackingStore.apply); a SurveySent sent before the
erasure and applied after it is kept without them too (feedback_rules.py)."""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

from shipnotify.store import feedback_rules
from shipnotify.store.feedback_rules import ShipmentFeedback
from shipnotify.store.feedback_state import FeedbackStates
from shipnotify.store.keys import sms_survey_key
from shipnotify.store.replies import text
from shipnotify.v1 import shipment_events_pb2 as pb


class SurveyErasure:
    def __init__(self, redis: Redis, *, keep_days: int = 90) -> None:
        self._redis = redis
        self._states = FeedbackStates(redis, keep_days=keep_days)

    async def apply(self, events: Sequence[pb.ShipmentEvent]) -> int:
        """Erases the surveys' personal data of each shipment whose contacts `events` erase;
        idempotent. Returns how many erasures there were."""
        erased = {
            e.shipment_id: e.recorded_at.ToMilliseconds()
            for e in events
            if e.WhichOneof("body") == "contacts_erased"
        }
        if not erased:
            return 0
        # The reply keys first: their numbers' hashes are in the records this erases.
        held = await self._states.read(list(erased))
        await self._drop_replies(
            [
                (digest, sid, survey)
                for sid, state in held.items()
                for digest, survey in _replies(state)
            ]
        )

        def forget(state: ShipmentFeedback) -> None:
            feedback_rules.erase(state, erased[state.shipment_id])

        await self._states.update(erased, forget)
        return len(erased)

    async def _drop_replies(self, replies: Sequence[tuple[str, str, str]]) -> None:
        """Deletes each number's reply key while it still points at the erased survey (a
        later survey to the number, of another shipment, keeps its own)."""
        if not replies:
            return
        pipe = self._redis.pipeline(transaction=False)
        for digest, _, _ in replies:
            pipe.get(sms_survey_key(digest))
        pointed = await pipe.execute()
        pipe = self._redis.pipeline(transaction=False)
        for (digest, sid, survey_id), value in zip(replies, pointed, strict=True):
            if value is not None and text(value) == f"{sid}/{survey_id}":
                pipe.delete(sms_survey_key(digest))
        if len(pipe):
            await pipe.execute()


def _replies(state: ShipmentFeedback) -> list[tuple[str, str]]:
    return [(digest, survey_id) for survey_id, digest in state.sms_digests.items() if digest]
