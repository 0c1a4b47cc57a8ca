"""The account API on ingest, against Apache Kafka, redis-server and the running tracker:
the operator creates an account and its first key; the account's own key reads and changes
it (keys, team, survey settings, webhook endpoints, rotation, delivery log, replay); another
account's key gets 404 for all of it; a revoked key stops working; bad input gets 422
naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from shipnotify.config import Settings
from shipnotify.store.keys import endpoint_log_key
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import shipment_events_pb2 as pb
from tests.offsets import read_all

from .conftest import Api, api_key, eventually, running_tracker


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allow_loopback": True})


def key(k: str) -> dict[str, str]:
    return {"X-Api-Key": k}


async def new_account(api: Api, settings: Settings, name: str = "Acme") -> tuple[str, str]:
    resp = await api.post("/v1/accounts", json={"name": name}, headers=api_key(settings))
    assert resp.status == 201, await resp.text()
    made = await resp.json()
    assert made["key"].startswith(f"sk_{made['key_id']}_")
    account_id, k = made["account_id"], made["key"]

    async def readable() -> bool:
        got = await api.get(f"/v1/accounts/{account_id}", headers=key(k))
        return got.status == 200

    await eventually(readable)  # the tracker applied it
    return account_id, k


async def read(api: Api, path: str, k: str, want: Any = None) -> dict[str, Any]:
    """A GET, again until `want(body)` holds (the tracker applies a change a few ms later)."""

    async def got() -> dict[str, Any] | None:
        resp = await api.get(path, headers=key(k))
        body: dict[str, Any] = await resp.json()
        return body if resp.status == 200 and (want is None or want(body)) else None

    return await eventually(got)


async def test_an_account_and_its_own_key(api: Api, settings: Settings, redis: Redis) -> None:
    async with running_tracker(settings):
        a, k = await new_account(api, settings)
        base = f"/v1/accounts/{a}"
        listed = await api.get("/v1/accounts", headers=api_key(settings))
        assert {"account_id": a, "name": "Acme"} in (await listed.json())["accounts"]
        # an account key is not the operator
        assert (await api.get("/v1/accounts", headers=key(k))).status == 403

        resp = await api.post(base + "/keys", json={"label": "erp"}, headers=key(k))
        assert resp.status == 201
        second = (await resp.json())["key"]
        team = {"members": [{"name": "Dana", "role": "logistics", "email": "dana@example.com"}]}
        assert (await api.put(base + "/team", json=team, headers=key(k))).status == 202
        survey = {"off": False, "scale": "nps", "delay_s": 600}
        assert (await api.put(base + "/survey", json=survey, headers=key(k))).status == 202
        resp = await api.post(
            base + "/webhooks",
            json={"url": "http://127.0.0.1:9/in", "event_types": ["notice.sent"]},
            headers=key(k),
        )
        assert resp.status == 201, await resp.text()
        endpoint = await resp.json()
        assert endpoint["secret"].startswith("whsec_")
        ep = endpoint["endpoint_id"]

        shown = await read(api, base, second, lambda b: b["endpoints"] and b["survey"])
        assert shown["name"] == "Acme"
        assert sorted(x["label"] for x in shown["keys"]) == ["", "erp"]
        assert shown["team"][0]["role"] == "logistics"
        assert shown["team"][0]["channels"] == ["email"]
        assert shown["survey"] == {"off": False, "scale": "nps", "delay_s": 600}
        assert "secret" not in shown["endpoints"][0]

        # change, rotate, log, replay
        patched = await api.patch(
            f"{base}/webhooks/{ep}", json={"disabled": True, "description": "erp"}, headers=key(k)
        )
        assert patched.status == 202
        one = await read(api, f"{base}/webhooks/{ep}", k, lambda b: b["disabled"])
        assert one["description"] == "erp"
        rotated = await api.post(f"{base}/webhooks/{ep}/secret:rotate", headers=key(k))
        assert rotated.status == 200
        new_secret = (await rotated.json())["secret"]
        assert new_secret != endpoint["secret"]
        await redis.xadd(
            endpoint_log_key(ep),
            {
                "msg": "msg_1",
                "n": "n1",
                "try": "1",
                "status": "503",
                "ms": "12",
                "error": "",
                "at": "1",
            },
        )
        await redis.xadd(
            endpoint_log_key(ep),
            {
                "msg": "msg_1",
                "n": "n1",
                "try": "2",
                "status": "200",
                "ms": "9",
                "error": "",
                "at": "2",
            },
        )
        log = await read(api, f"{base}/webhooks/{ep}/deliveries?limit=5", k)
        assert [d["attempt"] for d in log["deliveries"]] == [2, 1]
        replayed = await api.post(
            f"{base}/webhooks/{ep}/replay", json={"message_id": "msg_1"}, headers=key(k)
        )
        assert replayed.status == 202
        records = await read_all(settings, settings.accounts_topic)
        bodies = [apb.AccountEvent.FromString(r.value) for r in records]
        secrets = [
            [x.secret for x in e.endpoint_set.endpoint.secrets]
            for e in bodies
            if e.WhichOneof("body") == "endpoint_set"
        ]
        assert secrets[-1] == [new_secret, endpoint["secret"]]  # both sign meanwhile
        assert any(e.webhooks_replayed.message_id == "msg_1" for e in bodies)
        assert all(r.key == a.encode() for r in records if r.key != b"")

        # revoked: the key stops working
        key_id = next(x["key_id"] for x in shown["keys"] if x["label"] == "erp")
        assert (await api.delete(f"{base}/keys/{key_id}", headers=key(k))).status == 202

        async def refused() -> bool:
            return (await api.get(base, headers=key(second))).status == 401

        await eventually(refused)
        removed = await api.delete(f"{base}/webhooks/{ep}", headers=key(k))
        assert removed.status == 202
        await read(api, base, k, lambda b: b["endpoints"] == [])


async def test_another_accounts_key_gets_404_everywhere(api: Api, settings: Settings) -> None:
    async with running_tracker(settings):
        a, k = await new_account(api, settings, "A")
        b, other = await new_account(api, settings, "B")
        resp = await api.post(
            f"/v1/accounts/{a}/webhooks", json={"url": "http://127.0.0.1:9/"}, headers=key(k)
        )
        ep = (await resp.json())["endpoint_id"]
        await read(api, f"/v1/accounts/{a}/webhooks/{ep}", k)
        # every account route, named by the route table, with A's ids and B's key
        from shipnotify.ingest.accounts import ROUTES

        bodies = {
            "/keys": {"label": "x"},
            "/team": {"members": []},
            "/survey": {"off": True},
            "/webhooks": {"url": "http://127.0.0.1:9/"},
            "/replay": {"message_id": "msg_1"},
        }
        tried = 0
        for route in ROUTES:
            if "{account_id}" not in route.path:
                continue
            path = route.path.format(account_id=a, endpoint_id=ep, key_id="k")
            body = next((v for s, v in bodies.items() if path.endswith(s)), None)
            if route.method == "PATCH":
                body = {"disabled": True}
            resp = await api.request(route.method, path, json=body, headers=key(other))
            assert resp.status == 404, (route.method, route.path, await resp.text())
            assert (await resp.json())["error"] == "not_found"
            tried += 1
        assert tried == 13
        assert b != a


async def test_bad_input_names_its_field(api: Api, settings: Settings) -> None:
    async with running_tracker(settings):
        a, k = await new_account(api, settings)
        hooks = f"/v1/accounts/{a}/webhooks"
        resp = await api.post(
            hooks, json={"url": "https://10.0.0.1/in", "event_types": []}, headers=key(k)
        )
        assert resp.status == 422
        assert "url" in (await resp.json())["fields"]
        resp = await api.post(
            hooks,
            json={"url": "http://127.0.0.1:9/", "event_types": ["parcel.lost"]},
            headers=key(k),
        )
        assert resp.status == 422
        assert any(f.startswith("event_types") for f in (await resp.json())["fields"])
        team = {"members": [{"name": "Dana"}]}
        resp = await api.put(f"/v1/accounts/{a}/team", json=team, headers=key(k))
        assert resp.status == 422
        assert (await api.get("/v1/accounts", headers=key("sk_nope"))).status == 401


async def test_the_team_stands_in_for_contacts_left_out(api: Api, settings: Settings) -> None:
    from .conftest import registration, unique

    async with running_tracker(settings):
        a, k = await new_account(api, settings)
        no_contacts = registration(unique("team"))
        del no_contacts["sender"]["contacts"]
        # no team yet: 422 naming the party's contacts; the operator's key: 422 as ever
        resp = await api.post("/v1/shipments", json=no_contacts, headers=key(k))
        assert resp.status == 422
        assert list((await resp.json())["fields"]) == ["sender.contacts"]
        resp = await api.post("/v1/shipments", json=no_contacts, headers=api_key(settings))
        assert resp.status == 422
        assert "sender.contacts" in (await resp.json())["fields"]

        member = {
            "name": "Dana",
            "role": "desk",
            "phone": "+40721234567",
            "statuses": ["delivered"],
        }
        assert (
            await api.put(f"/v1/accounts/{a}/team", json={"members": [member]}, headers=key(k))
        ).status == 202
        await read(api, f"/v1/accounts/{a}", k, lambda b: b["team"])
        resp = await api.post("/v1/shipments", json=no_contacts, headers=key(k))
        assert resp.status == 202, await resp.text()
        records = await read_all(settings, settings.events_topic)
    [event] = [
        e
        for e in (pb.ShipmentEvent.FromString(r.value) for r in records)
        if e.shipment_id == no_contacts["shipment_id"]
    ]
    [contact] = event.registered.sender.contacts
    assert (contact.name, contact.phone) == ("Dana", "+40721234567")
    assert list(contact.statuses) == [pb.STATUS_DELIVERED]
    assert [c.name for c in event.registered.recipient.contacts] == ["Ion Rusu"]
