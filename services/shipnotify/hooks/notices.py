"""The operator's view of a shipment's notices and their states (behind an API key); an
account's key sees its own shipments' (another's: 404)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from shipnotify.hooks.resources import BOOK, REDIS, SETTINGS
from shipnotify.web import callers, json_response


class Notice(BaseModel):
    notification_id: str
    # status (a status's notice), survey, follow_up, apology or case_alert (the survey loop's),
    # endpoint_disabled (an account team's email of its disabled webhook endpoint)
    kind: str = "status"
    state: str
    channel: str | None = None
    party: str | None = None
    status: str | None = None
    event_id: str | None = None
    attempts: int = 0
    provider_id: str | None = None
    receipt: str | None = None
    error: str | None = None
    updated_at_ms: int | None = None


class Notices(BaseModel):
    shipment_id: str
    notices: list[Notice]


async def shipment_notices(request: web.Request) -> web.Response:
    redis = request.app[REDIS]
    who = await callers.caller(
        request.headers.get("X-Api-Key"), request.app[SETTINGS].api_keys, redis
    )
    shipment_id = request.match_info["shipment_id"]
    await callers.check_owner(redis, who, shipment_id)
    states = await request.app[BOOK].of_shipment(shipment_id)
    notices = [
        _notice(nid, doc) for nid, doc in sorted(states.items(), key=lambda i: i[1].get("t", 0))
    ]
    return json_response(Notices(shipment_id=shipment_id, notices=notices))


def _notice(nid: str, doc: dict[str, Any]) -> Notice:
    return Notice(
        notification_id=nid,
        kind=doc.get("kind", "status"),
        state=doc.get("s", "?"),
        channel=doc.get("c"),
        party=doc.get("p"),
        status=doc.get("st"),
        event_id=doc.get("ev"),
        attempts=doc.get("n", 0),
        provider_id=doc.get("id"),
        receipt=doc.get("r"),
        error=doc.get("e"),
        updated_at_ms=doc.get("t"),
    )
