"""The demo courier: registers a few shipments and walks them through their statuses over
ingest's real HTTP API, as the order system and the driver app would. A demo business
customer's account, made through the operator API, owns some of them, and its webhook
endpoint is the webhook sandbox: their events arrive there signed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from shipnotify import backoff, logs
from shipnotify.devstack.webhook_sandbox import WebhookSandbox

log = logs.get(__name__)
DEPOT = "Chișinău hub"  # the depot answerable for the demo's shipments
ACCOUNT_NAME = "Demo Shop"
ENDPOINT = "demo-shop"  # the webhook sandbox's endpoint of the demo account
TEAM_EMAIL = "logistics@shop.example"  # the demo account's team member
# The demo shipments (by index in _PARTIES) the demo account registers with its own key:
# their events become its webhooks. The others stay the carrier's.
ACCOUNT_SHIPMENTS = frozenset({0, 2})

_PARTIES: list[dict[str, Any]] = [
    {
        "sender": {
            "contacts": [
                {
                    "name": "Ana Popescu",
                    "phone": "+40721234567",
                    "email": "ana@example.com",
                    "locale": "ro",
                    "time_zone": "Europe/Bucharest",
                }
            ]
        },
        "recipient": {
            "contacts": [
                {
                    "name": "Ion Rusu",
                    "phone": "+37369123456",
                    "locale": "ro",
                    "time_zone": "Europe/Chisinau",
                }
            ]
        },
    },
    {
        "sender": {
            "contacts": [
                {"name": "Shop Dispatch", "email": "dispatch@example.com"},
                {"name": "Shop Support", "email": "support@example.com", "locale": "en"},
            ]
        },
        "recipient": {
            "contacts": [
                {
                    "name": "Мария Иванова",
                    "phone": "+79123456789",
                    "email": "maria@example.com",
                    "locale": "ru",
                    "time_zone": "Europe/Moscow",
                }
            ]
        },
    },
    {
        "sender": {
            "contacts": [
                {
                    "name": "Sam Lee",
                    "phone": "+12025550143",
                    "locale": "en",
                    "time_zone": "America/New_York",
                }
            ]
        },
        "recipient": {"contacts": [{"name": "Dana Moore", "email": "dana@example.com"}]},
    },
]

# Shipments given to the demo courier and left for whoever opens the courier app's link:
# (recipient, delivery address). Their sender is the first demo sender.
_RUN: list[tuple[dict[str, Any], str]] = [
    (
        {"name": "Elena Ceban", "phone": "+37369555123", "locale": "ro"},
        "str. Ismail 45, ap. 12, Chișinău",
    ),
    (
        {"name": "Олег Смирнов", "phone": "+37368123456", "locale": "ru"},
        "bd. Dacia 27, bl. 3, Chișinău",
    ),
    (
        {"name": "Tom Baker", "email": "tom@example.com", "locale": "en"},
        "str. Pușkin 22, Chișinău",
    ),
]

# (shipment index, status, extra fields); one step a tick, interleaved across shipments.
_STEPS: list[tuple[int, str, dict[str, Any]]] = [
    (0, "confirmed", {}),
    (1, "confirmed", {}),
    (2, "confirmed", {}),
    (0, "picked_up", {}),
    (1, "picked_up", {}),
    (
        0,
        "in_transit",
        {"location": {"depot": DEPOT, "city": "Chișinău", "country_code": "MD"}},
    ),
    (2, "picked_up", {}),
    (1, "out_for_delivery", {}),
    (1, "delivery_attempted", {"failure": "recipient_absent"}),
    (0, "out_for_delivery", {}),
    (2, "in_transit", {}),
    (0, "delivered", {}),
    (1, "out_for_delivery", {}),
    (2, "ready_for_collection", {"location": {"depot": "Locker 12", "city": "Bălți"}}),
    (1, "delivered", {}),
]


# The demo's customers answer their surveys: (shipment index, what they reply, to which of
# their notices). One is unhappy and says why: a call-back case opens.
_ANSWERS: list[tuple[int, str, str]] = [
    (0, "5, thank you!", "survey"),
    (1, "2", "survey"),
    (1, "1 It came two days late", "follow_up"),
]
Reply = Callable[[str, str], Awaitable[object]]  # (the customer's phone, their SMS): sent


@dataclass(frozen=True)
class Account:
    """The demo business customer, as the operator API answered."""

    account_id: str
    key: str
    endpoint_id: str
    url: str


async def run(
    base_url: str,
    api_key: str,
    courier_token: str,
    *,
    webhooks: WebhookSandbox,
    pace_s: float = 2.0,
    courier_id: str = "demo-courier",
    reply: Reply | None = None,
) -> list[str]:
    """Makes the demo account (its webhooks go to `webhooks`), gives the demo courier a run
    to work in the app, then walks the other demo shipments, some the account's; returns
    their tracking URLs (printed as soon as known). With `reply`, the recipients then
    answer their surveys by SMS, one of them badly."""
    async with aiohttp.ClientSession(base_url) as http:
        run_id = uuid.uuid4().hex[:6]
        account = await open_account(http, api_key, webhooks)
        print(
            f"  demo account {account.account_id} ({ACCOUNT_NAME}): its key {account.key}\n"
            f"    its webhook endpoint {account.endpoint_id}: {account.url}"
            f" (what arrives: {base_url}/outbox#webhooks)\n"
            f"    its team member {TEAM_EMAIL} signs in at {base_url}/console with the"
            " account's id (the link arrives in the outbox)",
            flush=True,
        )
        for i, (recipient, address) in enumerate(_RUN):
            body = await _post(
                http,
                "/v1/shipments",
                {
                    "shipment_id": f"run-{run_id}-{i + 1}",
                    "sender": _PARTIES[0]["sender"],
                    "recipient": {"contacts": [recipient]},
                    "courier_id": courier_id,
                    "delivery_address": address,
                },
                {"X-Api-Key": api_key},
            )
            print(f"  for the courier app: {body['tracking_url']}", flush=True)
        urls, ids = [], []
        for i, parties in enumerate(_PARTIES):
            shipment_id = f"demo-{run_id}-{i + 1}"
            owned = i in ACCOUNT_SHIPMENTS
            body = await _post(
                http,
                "/v1/shipments",
                {"shipment_id": shipment_id, "depot": DEPOT, **parties},
                {"X-Api-Key": account.key if owned else api_key},
            )
            ids.append(shipment_id)
            urls.append(body["tracking_url"])
            whose = f" ({ACCOUNT_NAME}'s)" if owned else ""
            print(f"  demo shipment {shipment_id}{whose}: {body['tracking_url']}", flush=True)
        courier = {"Authorization": f"Bearer {courier_token}"}
        late = None
        for n, (i, status, extra) in enumerate(_STEPS):
            await asyncio.sleep(pace_s)
            tap = {"event_id": str(uuid.uuid4()), "occurred_at": _now(), "status": status, **extra}
            if n == 5:  # this tap reaches us late, as from an app that was offline
                late = (ids[i], tap)
                continue
            await _post(http, f"/v1/shipments/{ids[i]}/events", tap, courier)
        if late:  # uploaded after newer taps: kept in the timeline, never a step back
            await _post(http, f"/v1/shipments/{late[0]}/events", late[1], courier)
        log.info("demo courier done", shipments=len(ids))
        if reply is not None:
            await _answer(http, base_url, ids, {"X-Api-Key": api_key}, reply)
        return urls


async def open_account(
    http: aiohttp.ClientSession, operator_key: str, webhooks: WebhookSandbox
) -> Account:
    """The demo account, through the operator API, with one webhook endpoint hearing every
    event type at the sandbox; the sandbox is given the endpoint's secret."""
    operator = {"X-Api-Key": operator_key}
    made = await _post(http, "/v1/accounts", {"name": ACCOUNT_NAME}, operator)
    account_id = made["account_id"]
    url = webhooks.url(ENDPOINT)
    endpoint = await _post(
        http,
        f"/v1/accounts/{account_id}/webhooks",
        {"url": url, "event_types": [], "description": "the local stack's webhook sandbox"},
        operator,
    )
    webhooks.trust(ENDPOINT, endpoint["secret"])
    # its team: who signs in to the console by an emailed link (it arrives in the outbox)
    team = {"members": [{"name": "Demo Shop logistics", "email": TEAM_EMAIL, "locale": "en"}]}
    await _post(http, f"/v1/accounts/{account_id}/team", team, operator, method="PUT")
    account = Account(account_id, made["key"], endpoint["endpoint_id"], url)
    await _until_applied(http, account)
    return account


async def _until_applied(http: aiohttp.ClientSession, account: Account) -> None:
    """Waits (a minute at most) until the tracker applied the account's changes: its key
    opens its endpoint's delivery log. Before, the key is unknown (401) or the endpoint not
    yet there (404), and the account's first events would tell no endpoint."""
    path = f"/v1/accounts/{account.account_id}/webhooks/{account.endpoint_id}/deliveries"
    async for _ in backoff.attempts(first_s=0.1, cap_s=1.0, limit=60):
        async with http.get(path, headers={"X-Api-Key": account.key}) as resp:
            if resp.status == 200:
                return
            if resp.status not in (401, 404):
                raise RuntimeError(f"{path}: {resp.status} {await resp.text()}")
    raise RuntimeError(f"the demo account {account.account_id} was never applied")


async def _answer(
    http: aiohttp.ClientSession, base_url: str, ids: list[str], key: dict[str, str], reply: Reply
) -> None:
    """Each recipient answers once its survey (or its follow-up) has reached them; then the
    unhappy one's call-back case is shown."""
    for i, words, kind in _ANSWERS:
        phone = _PARTIES[i]["recipient"]["contacts"][0]["phone"]
        await _until_sent(http, ids[i], kind, key)
        await reply(phone, words)
        print(f"  a demo customer ({phone}) answered {kind.replace('_', '-')}: {words}", flush=True)
    async for _ in backoff.attempts(first_s=0.5, cap_s=2.0, limit=30):
        async with http.get("/v1/cases", headers=key) as resp:
            cases = [c for c in (await resp.json())["cases"] if c["shipment_id"] == ids[1]]
        if cases:
            print(
                f"  call-back case {cases[0]['case_id']} ({ids[1]}) open, due {cases[0]['due_at']}:"
                f" curl -H 'X-Api-Key: {key['X-Api-Key']}' {base_url}/v1/cases",
                flush=True,
            )
            return
    log.warning("demo call-back case not seen", shipment_id=ids[1])


async def _until_sent(
    http: aiohttp.ClientSession, shipment_id: str, kind: str, key: dict[str, str]
) -> None:
    """Waits (a few minutes at most) for the shipment's recipient notice of `kind` to go."""
    async for _ in backoff.attempts(first_s=1.0, cap_s=2.0, limit=150):
        async with http.get(f"/v1/shipments/{shipment_id}/notices", headers=key) as resp:
            notices = (await resp.json())["notices"]
        if any(
            n["kind"] == kind and n["party"] == "recipient" and n["state"] in ("sent", "delivered")
            for n in notices
        ):
            return
    raise RuntimeError(f"{shipment_id}: its {kind} never went")


async def _post(
    http: aiohttp.ClientSession,
    path: str,
    body: dict[str, Any],
    headers: dict[str, str],
    method: str = "POST",
) -> dict[str, Any]:
    # the app retries with the same event_id until accepted
    async for _ in backoff.attempts(first_s=0.2, cap_s=2.0, limit=30):
        async with http.request(method, path, json=body, headers=headers) as resp:
            if resp.status in (200, 201, 202):
                reply: dict[str, Any] = await resp.json()
                return reply
            if resp.status != 503:
                raise RuntimeError(f"{path}: {resp.status} {await resp.text()}")
    raise RuntimeError(f"{path}: still unavailable")


def _now() -> str:
    return (datetime.now(UTC) - timedelta(milliseconds=1)).isoformat()
