"""Status and failure labels, looked up in the catalogs: the page, the status JSON and the
notices all say the same."""

from __future__ import annotations

from shipnotify.i18n import DEFAULT, LANGUAGES, mark, negotiate, text
from shipnotify.model.status import AttemptFailure, Status

__all__ = ["DEFAULT", "FAILURE_LABELS", "LANGUAGES", "STATUS_LABELS", "negotiate"]

_STATUS = {
    Status.REGISTERED: mark("status.registered"),
    Status.CONFIRMED: mark("status.confirmed"),
    Status.AWAITING_PICKUP: mark("status.awaiting_pickup"),
    Status.PICKED_UP: mark("status.picked_up"),
    Status.IN_TRANSIT: mark("status.in_transit"),
    Status.OUT_FOR_DELIVERY: mark("status.out_for_delivery"),
    Status.DELIVERY_ATTEMPTED: mark("status.delivery_attempted"),
    Status.READY_FOR_COLLECTION: mark("status.ready_for_collection"),
    Status.DELIVERED: mark("status.delivered"),
    Status.RETURNED_TO_SENDER: mark("status.returned_to_sender"),
    Status.CANCELLED: mark("status.cancelled"),
}
_FAILURE = {
    AttemptFailure.RECIPIENT_ABSENT: mark("failure.recipient_absent"),
    AttemptFailure.ADDRESS_INCORRECT: mark("failure.address_incorrect"),
    AttemptFailure.REFUSED: mark("failure.refused"),
    AttemptFailure.NO_ACCESS: mark("failure.no_access"),
    AttemptFailure.BUSINESS_CLOSED: mark("failure.business_closed"),
    AttemptFailure.OTHER: mark("failure.other"),
}

STATUS_LABELS: dict[str, dict[Status, str]] = {
    lang: {status: text(lang, key) for status, key in _STATUS.items()} for lang in LANGUAGES
}
FAILURE_LABELS: dict[str, dict[AttemptFailure, str]] = {
    lang: {failure: text(lang, key) for failure, key in _FAILURE.items()} for lang in LANGUAGES
}
