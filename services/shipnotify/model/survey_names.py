"""The words the HTTP API and the forms use for the survey vocabulary's enums: the proto
names, lower case, without their enum's prefix (REASON_NOT_INFORMED -> "not_informed")."""

from __future__ import annotations

from collections.abc import Mapping

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

from shipnotify.model import survey
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.v1 import survey_pb2 as spb


def _names(enum: EnumTypeWrapper, prefix: str) -> Mapping[str, int]:
    return {
        name.removeprefix(prefix).lower(): number
        for name, number in enum.items()
        if not name.endswith("_UNSPECIFIED")
    }


# in the order they are offered (an SMS reply names one by its place)
REASONS = {spb.Reason.Name(n).removeprefix("REASON_").lower(): n for n in survey.REASONS}
OUTCOMES = _names(spb.CaseOutcome, "CASE_OUTCOME_")
CAUSES = _names(spb.CaseCause, "CASE_CAUSE_")
SOURCES = _names(spb.AnswerSource, "ANSWER_SOURCE_")
PARTIES = _names(npb.PartyRole, "PARTY_ROLE_")
CHANNELS = _names(pb.Channel, "CHANNEL_")
SCALES = survey.SCALE_NAMES


def name_of(names: Mapping[str, int], number: int) -> str | None:
    """The word for an enum's number; None for UNSPECIFIED (or one unknown to these names)."""
    return next((name for name, n in names.items() if n == number), None)
