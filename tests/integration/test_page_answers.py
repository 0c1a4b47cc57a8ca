"""The tracking page's question after delivery, answered through hooks onto the real feedback
topic: the score and the follow-up with the contract's ids, from the page's origin across
CORS; an unknown tracking id, a shipment not delivered yet, bad fields and an ended survey
refused with nothing appended. The shipment's status is the tracker's, in redis-server."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from redis.asyncio import Redis

from shipnotify.model import survey
from shipnotify.model.feedback_events import follow_up_id
from shipnotify.model.ids import tracking_id_for
from shipnotify.model.status import Status
from shipnotify.store import TrackingStore
from shipnotify.store.feedback import Survey
from shipnotify.v1 import feedback_pb2 as fpb
from shipnotify.v1 import survey_pb2 as spb
from tests.fake_feedback import DAY_MS, now_ms

from .conftest import unique
from .survey_hooks import Hooks, hooks
from .test_dead_letters import registration_event, status_event

__all__ = ["hooks"]  # the fixture
PAGE_ORIGIN = "http://tracking.test"  # the settings' public_url


async def shipment_at(hooks: Hooks, redis: Redis, *statuses: Status) -> tuple[str, str]:
    """A shipment the tracker applied: registered, then `statuses`. (shipment id, tracking id)"""
    shipment_id = unique("page")
    tracking_id = tracking_id_for(hooks.settings.tracking_id_secret, shipment_id)
    registered = registration_event(shipment_id)
    registered.registered.tracking_id = tracking_id
    await TrackingStore(redis).apply(
        [registered, *(status_event(shipment_id, s) for s in statuses)]
    )
    return shipment_id, tracking_id


async def delivered(hooks: Hooks, redis: Redis) -> tuple[str, str]:
    return await shipment_at(hooks, redis, Status.PICKED_UP, Status.DELIVERED)


async def send(
    hooks: Hooks, path: str, body: dict[str, Any], origin: str = PAGE_ORIGIN
) -> tuple[int, dict[str, Any], dict[str, str]]:
    resp = await hooks.client.post(path, json=body, headers={"Origin": origin})
    return resp.status, await resp.json(), dict(resp.headers)


async def test_a_happy_score_is_recorded_for_the_shipments_page_survey(
    hooks: Hooks, redis: Redis
) -> None:
    shipment_id, tracking_id = await delivered(hooks, redis)
    nonce = str(uuid.uuid4())
    status, body, headers = await send(
        hooks, f"/v1/answers/{tracking_id}", {"score": 5, "nonce": nonce}
    )
    assert (status, body) == (202, {"unhappy": False})
    assert headers["Access-Control-Allow-Origin"] == PAGE_ORIGIN  # the page may read it
    [event] = await hooks.appended()
    assert event.event_id == survey.feedback_event_id("page", shipment_id, nonce)
    assert event.shipment_id == shipment_id
    assert event.survey_answered == fpb.SurveyAnswered(
        survey_id=survey.page_survey_id(shipment_id),
        scale=spb.SCALE_CSAT,
        score=5,
        source=spb.ANSWER_SOURCE_PAGE,
        unhappy=False,
    )


async def test_an_unhappy_score_opens_its_case_and_a_retry_is_the_same_event(
    hooks: Hooks, redis: Redis
) -> None:
    shipment_id, tracking_id = await delivered(hooks, redis)
    hooks.feedback.contexts[shipment_id] = ("south", "c-9")
    nonce = str(uuid.uuid4())
    for _ in range(2):
        status, body, _ = await send(
            hooks, f"/v1/answers/{tracking_id}", {"score": 1, "nonce": nonce}
        )
        assert (status, body) == (202, {"unhappy": True})
    answer, case, answer_again, case_again = await hooks.appended()
    answer_id = survey.feedback_event_id("page", shipment_id, nonce)
    assert answer.event_id == answer_again.event_id == answer_id
    assert case.event_id == case_again.event_id == survey.feedback_event_id("case", answer_id)
    page_survey = survey.page_survey_id(shipment_id)
    assert case.case_opened.case_id == survey.case_id(page_survey)
    assert (case.case_opened.depot, case.case_opened.courier_id) == ("south", "c-9")


async def test_what_went_wrong_is_recorded(hooks: Hooks, redis: Redis) -> None:
    shipment_id, tracking_id = await delivered(hooks, redis)
    nonce = str(uuid.uuid4())
    status, body, _ = await send(
        hooks,
        f"/v1/answers/{tracking_id}/follow-up",
        {"reason": "not_informed", "comment": "No SMS at all.", "nonce": nonce},
    )
    assert status == 202
    event_id = follow_up_id("page", shipment_id, nonce)
    assert body == {"event_id": event_id}
    [event] = await hooks.appended()
    assert event.event_id == event_id
    assert event.follow_up_answered == fpb.FollowUpAnswered(
        survey_id=survey.page_survey_id(shipment_id),
        reason=spb.REASON_NOT_INFORMED,
        comment="No SMS at all.",
        source=spb.ANSWER_SOURCE_PAGE,
    )


async def test_an_unknown_tracking_id_or_one_not_delivered_is_refused(
    hooks: Hooks, redis: Redis
) -> None:
    _, on_its_way = await shipment_at(hooks, redis, Status.OUT_FOR_DELIVERY)
    unknown = tracking_id_for(hooks.settings.tracking_id_secret, unique("never"))
    answer = {"score": 4, "nonce": str(uuid.uuid4())}
    follow = {"reason": "late", "nonce": str(uuid.uuid4())}
    for suffix, body in (("", answer), ("/follow-up", follow)):
        status, error, _ = await send(hooks, f"/v1/answers/{unknown}{suffix}", body)
        assert (status, error["fields"]) == (404, {"tracking_id": "unknown"})
        status, error, headers = await send(hooks, f"/v1/answers/{on_its_way}{suffix}", body)
        assert (status, error["error"]) == (409, "not_delivered")
        assert error["fields"] == {"tracking_id": "status out_for_delivery"}
        assert headers["Access-Control-Allow-Origin"] == PAGE_ORIGIN  # the page reads why
        status, error, _ = await send(hooks, f"/v1/answers/NOT-AN-ID{suffix}", body)
        assert status == 422
        assert "tracking_id" in error["fields"]
    assert await hooks.appended() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"score": 6}, "score"),  # within JSON Schema's 0-10, off the CSAT scale
        ({"score": 0}, "score"),
        ({"score": 11}, "score"),
        ({"score": "5"}, "score"),
        ({"score": 4.5}, "score"),
        ({}, "score"),
        ({"score": 4, "nonce": "short"}, "nonce"),
        ({"score": 4, "nonce": None}, "nonce"),
        ({"score": 4, "extra": 1}, "extra"),
    ],
)
async def test_a_bad_score_is_refused_naming_the_field(
    hooks: Hooks, redis: Redis, body: dict[str, Any], field: str
) -> None:
    _, tracking_id = await delivered(hooks, redis)
    sent = {k: v for k, v in {"nonce": str(uuid.uuid4()), **body}.items() if v is not None}
    status, error, _ = await send(hooks, f"/v1/answers/{tracking_id}", sent)
    assert status == 422, error
    assert field in error["fields"], error
    assert await hooks.appended() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "rude"}, "reason"),
        ({}, "reason"),
        ({"reason": "late", "comment": "x" * 501}, "comment"),
        ({"reason": "late", "comment": "bell\x07"}, "comment"),
        ({"reason": "late", "nonce": None}, "nonce"),
    ],
)
async def test_a_bad_follow_up_is_refused_naming_the_field(
    hooks: Hooks, redis: Redis, body: dict[str, Any], field: str
) -> None:
    _, tracking_id = await delivered(hooks, redis)
    sent = {k: v for k, v in {"nonce": str(uuid.uuid4()), **body}.items() if v is not None}
    status, error, _ = await send(hooks, f"/v1/answers/{tracking_id}/follow-up", sent)
    assert status == 422, error
    assert field in error["fields"], error
    assert await hooks.appended() == []


async def test_a_comment_of_500_characters_is_taken(hooks: Hooks, redis: Redis) -> None:
    _, tracking_id = await delivered(hooks, redis)
    body = {"reason": "other", "comment": "ă" * 500, "nonce": str(uuid.uuid4())}
    status, _, _ = await send(hooks, f"/v1/answers/{tracking_id}/follow-up", body)
    assert status == 202


async def test_a_page_survey_past_its_window_takes_no_answer(hooks: Hooks, redis: Redis) -> None:
    shipment_id, tracking_id = await delivered(hooks, redis)
    window_ms = hooks.settings.survey_answer_days * DAY_MS
    page_survey = survey.page_survey_id(shipment_id)
    hooks.feedback.put(
        Survey(shipment_id, page_survey, None, None, None, now_ms() - window_ms - 1000)
    )
    status, error, _ = await send(
        hooks, f"/v1/answers/{tracking_id}", {"score": 4, "nonce": str(uuid.uuid4())}
    )
    assert (status, error["error"]) == (410, "survey_closed")
    assert await hooks.appended() == []


@pytest.mark.parametrize("suffix", ["", "/follow-up"])
async def test_only_the_tracking_pages_origin_may_post_across_origins(
    hooks: Hooks, suffix: str
) -> None:
    path = f"/v1/answers/{'a' * 20}{suffix}"
    asked = {
        "Origin": PAGE_ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    resp = await hooks.client.options(path, headers=asked)
    assert resp.status == 204
    assert resp.headers["Access-Control-Allow-Origin"] == PAGE_ORIGIN
    assert resp.headers["Access-Control-Allow-Methods"] == "POST"
    assert resp.headers["Access-Control-Allow-Headers"] == "content-type"
    for change, field in (
        ({"Origin": "https://evil.example"}, "Origin"),
        ({"Access-Control-Request-Method": "DELETE"}, "Access-Control-Request-Method"),
        ({"Access-Control-Request-Headers": "x-api-key"}, "Access-Control-Request-Headers"),
    ):
        resp = await hooks.client.options(path, headers={**asked, **change})
        assert resp.status == 403
        assert field in (await resp.json())["fields"]
    resp = await hooks.client.post(path, json={}, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in resp.headers  # no other page may read it
