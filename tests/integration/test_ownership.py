"""Whose shipment it is: a shipment registered with an account's key is that account's (its
registration names the account, its owner key holds it, and a second account cannot take
the id); every route of the app (ingest, hooks, status_api, as `shipnotify dev` serves
them) that names a shipment or an account answers 404 to another account's key, and the
batch route a per-item 404. The routes are read from the app's own route table, so a route
added later is tried too."""

from __future__ import annotations

from typing import Any

import pytest

from shipnotify import web
from shipnotify.config import Settings
from shipnotify.store import accounts
from shipnotify.v1 import shipment_events_pb2 as pb
from tests.offsets import read_all

from .conftest import Api, eventually, registration, running_tracker, tap, unique
from .test_account_api import key, new_account


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allow_loopback": True})


def _body(method: str, path: str, sid: str) -> Any:
    """A valid body for each route that takes one: the 404 must not be a 422's stand-in."""
    if path.endswith("/events"):
        return tap("picked_up")
    if path.endswith("/courier"):
        return {"courier_id": "courier-1"}
    if path == "/v1/events:batch":
        return {"events": [{**tap("picked_up"), "shipment_id": sid}]}
    for end, body in (
        ("/keys", {"label": "x"}),
        ("/team", {"members": []}),
        ("/survey", {"off": True}),
        ("/webhooks", {"url": "http://127.0.0.1:9/"}),
        ("/replay", {"message_id": "msg_1"}),
        ("/secret:rotate", None),
    ):
        if path.endswith(end):
            return body
    return {"disabled": True} if method == "PATCH" else None


async def test_every_route_answers_404_to_another_account(api: Api, settings: Settings) -> None:
    async with running_tracker(settings):
        a, mine = await new_account(api, settings, "A")
        _, theirs = await new_account(api, settings, "B")
        sid = unique("owned")
        resp = await api.post("/v1/shipments", json=registration(sid), headers=key(mine))
        assert resp.status == 202, await resp.text()
        # a second account cannot take the id
        taken = await api.post("/v1/shipments", json=registration(sid), headers=key(theirs))
        assert taken.status == 404
        retry = await api.post("/v1/shipments", json=registration(sid), headers=key(mine))
        assert retry.status == 202
        made = await api.post(
            f"/v1/accounts/{a}/webhooks", json={"url": "http://127.0.0.1:9/"}, headers=key(mine)
        )
        ep = (await made.json())["endpoint_id"]

        async def endpoint_known() -> bool:
            return (
                await api.get(f"/v1/accounts/{a}/webhooks/{ep}", headers=key(mine))
            ).status == 200

        await eventually(endpoint_known)

        routes = api.app[web.ROUTES]
        named = [
            r
            for r in routes
            if "{shipment_id}" in r.path or "{account_id}" in r.path or r.path == "/v1/events:batch"
        ]
        ids = {"shipment_id": sid, "account_id": a, "endpoint_id": ep, "key_id": "k"}
        tried = []
        for route in named:
            path = route.path.format(**ids)
            body = _body(route.method, route.path, sid)
            resp = await api.request(route.method, path, json=body, headers=key(theirs))
            answer = await resp.json()
            if route.path == "/v1/events:batch":
                assert resp.status == 200, answer
                assert answer["results"][0]["status"] == 404, answer
                assert answer["accepted"] == 0
            else:
                assert resp.status == 404, (route.method, route.path, answer)
                assert answer["error"] == "not_found"
            tried.append(f"{route.method} {route.path}")
        # the shipment's routes of ingest and hooks, the batch, and the account API's
        assert "POST /v1/shipments/{shipment_id}/events" in tried
        assert "GET /v1/shipments/{shipment_id}/notices" in tried
        assert "DELETE /v1/shipments/{shipment_id}/contacts" in tried
        assert "PUT /v1/shipments/{shipment_id}/courier" in tried
        assert len(tried) >= 18

        # and the owner's own key is heard on the same routes
        own = await api.post(
            f"/v1/shipments/{sid}/events", json=tap("picked_up"), headers=key(mine)
        )
        assert own.status == 202
        notices = await api.get(f"/v1/shipments/{sid}/notices", headers=key(mine))
        assert notices.status == 200
        batch = _body("POST", "/v1/events:batch", sid)
        own_batch = await api.post("/v1/events:batch", json=batch, headers=key(mine))
        assert (await own_batch.json())["accepted"] == 1


async def test_a_registration_names_its_account(api: Api, settings: Settings, redis: Any) -> None:
    async with running_tracker(settings):
        a, mine = await new_account(api, settings, "A")
        sid = unique("named")
        resp = await api.post("/v1/shipments", json=registration(sid), headers=key(mine))
        assert resp.status == 202
        carrier = unique("carrier")
        resp = await api.post(
            "/v1/shipments", json=registration(carrier), headers={"X-Api-Key": "test-key"}
        )
        assert resp.status == 202
        records = await read_all(settings, settings.events_topic)
        events = {e.shipment_id: e for e in (pb.ShipmentEvent.FromString(r.value) for r in records)}
        assert events[sid].registered.account_id == a
        assert events[carrier].registered.account_id == ""
        assert await accounts.owner(redis, sid) == a
        assert await accounts.owner(redis, carrier) == ""

        async def applied() -> bool:
            return bool(await redis.exists("{shp:" + carrier + "}:state"))

        await eventually(applied)
        # the carrier's shipment stays the carrier's: an account cannot take its id
        again = await api.post("/v1/shipments", json=registration(carrier), headers=key(mine))
        assert again.status == 404
        # the operator sees every shipment
        tapped = await api.post(
            f"/v1/shipments/{sid}/events", json=tap("picked_up"), headers={"X-Api-Key": "test-key"}
        )
        assert tapped.status == 202
