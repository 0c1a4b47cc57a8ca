"""The notices' words as the catalogs hold them, and the replies to inbound SMS."""

from __future__ import annotations

from shipnotify.hooks.sms import REPLIES
from shipnotify.i18n import DEFAULT, text
from shipnotify.model import sms


def test_the_replies_to_inbound_sms_are_english_in_one_segment() -> None:
    assert REPLIES == {"stop": "reply.stop", "start": "reply.start", "help": "reply.help"}
    replies = {word: text(DEFAULT, key) for word, key in REPLIES.items()}
    assert replies == {
        "stop": "You will get no more SMS from us. Reply START to get them again.",
        "start": "You will get SMS about your shipments again. Reply STOP to end them.",
        "help": "Shipment notices. Reply STOP to end them, START to get them again.",
    }
    assert all(sms.is_gsm7(r) and sms.segments(r) == 1 for r in replies.values())
