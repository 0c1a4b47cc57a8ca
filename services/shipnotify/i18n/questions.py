"""The survey's words every channel shares (the SMS, the email and its landing page, the
tracking page, the case alert): each scale's question and what its two ends mean, and the
reasons offered after a low score, looked up in the catalogs."""

from __future__ import annotations

from shipnotify.i18n import mark
from shipnotify.v1 import survey_pb2 as spb

# scale -> (the question, its lowest score's meaning, its highest's)
QUESTION = {
    spb.SCALE_CSAT: (mark("question.csat"), mark("question.low.csat"), mark("question.high.csat")),
    spb.SCALE_NPS: (mark("question.nps"), mark("question.low.nps"), mark("question.high.nps")),
    spb.SCALE_CES: (mark("question.ces"), mark("question.low.ces"), mark("question.high.ces")),
}
# the follow-up's reasons by name (the API's and the forms' value) in the order offered
REASON_NAMES = {
    spb.REASON_LATE: "late",
    spb.REASON_NOT_INFORMED: "not_informed",
    spb.REASON_DAMAGED: "damaged",
    spb.REASON_COURIER_MANNER: "courier_manner",
    spb.REASON_MISSED_DELIVERY: "missed_delivery",
    spb.REASON_OTHER: "other",
}
REASON = {
    spb.REASON_LATE: mark("reason.late"),
    spb.REASON_NOT_INFORMED: mark("reason.not_informed"),
    spb.REASON_DAMAGED: mark("reason.damaged"),
    spb.REASON_COURIER_MANNER: mark("reason.courier_manner"),
    spb.REASON_MISSED_DELIVERY: mark("reason.missed_delivery"),
    spb.REASON_OTHER: mark("reason.other"),
}
