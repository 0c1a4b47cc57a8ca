"""What the survey tests of hooks share: hooks on a loopback port against the test's Kafka
topics and Redis, reached by the SMS provider at BASE (its requests signed with the twilio
library's RequestValidator), reading surveys and cases from a FakeFeedback; and the feedback
topic as the tracker's consumer would read it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp.test_utils import TestClient, TestServer
from twilio.request_validator import RequestValidator

from shipnotify import kafka
from shipnotify.config import Settings
from shipnotify.hooks import app as hooks_app
from shipnotify.v1 import feedback_pb2 as fpb
from tests.fake_feedback import FakeFeedback
from tests.offsets import read_all

from .conftest import Api, eventually

TOKEN = "twilio-auth-token-for-tests"
BASE = "https://hooks.example"
INBOUND = "/v1/twilio/inbound"
OUR_NUMBER = "+15005550006"


@dataclass
class Hooks:
    client: Api
    settings: Settings
    feedback: FakeFeedback

    async def sms(self, phone: str, body: str, sid: str | None = None) -> tuple[int, str]:
        """An inbound SMS, as the provider posts it (signed); the answer's status and TwiML."""
        sid = sid or "SM" + uuid.uuid4().hex
        form = {"MessageSid": sid, "From": phone, "To": OUR_NUMBER, "Body": body}
        signature = RequestValidator(TOKEN).compute_signature(BASE + INBOUND, form)
        resp = await self.client.post(INBOUND, data=form, headers={"X-Twilio-Signature": signature})
        return resp.status, await resp.text()

    async def appended(self) -> list[fpb.FeedbackEvent]:
        """Every event on the feedback topic, in the order appended (one shipment a test, so
        one partition)."""
        records = await read_all(self.settings, self.settings.feedback_topic)
        ordered = sorted(records, key=lambda r: (r.partition, r.offset))
        return [fpb.FeedbackEvent.FromString(r.value) for r in ordered]


@pytest.fixture
async def hooks(settings: Settings) -> AsyncIterator[Hooks]:
    """hooks alone, as `shipnotify hooks` serves it, once its producer is connected."""
    settings = settings.with_(twilio_auth_token=TOKEN, webhook_url=BASE)
    await kafka.ensure_topics(settings)
    feedback = FakeFeedback(answer_days=settings.survey_answer_days)
    app = hooks_app.init_app(settings, feedback=feedback)
    async with TestClient(TestServer(app)) as client:

        async def ready() -> bool:
            return (await client.get("/readyz")).status == 200

        await eventually(ready)
        yield Hooks(client, settings, feedback)


def reply_of(twiml: str) -> str | None:
    """The text a TwiML answer sends back; None for an answer that sends nothing."""
    if twiml == '<?xml version="1.0" encoding="UTF-8"?><Response></Response>':
        return None
    start, end = "<Response><Message>", "</Message></Response>"
    assert start in twiml, twiml
    assert twiml.endswith(end), twiml
    return twiml.split(start, 1)[1].removesuffix(end)
