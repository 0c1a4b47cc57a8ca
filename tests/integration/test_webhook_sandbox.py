"""The webhook sandbox, sent to over HTTP with requests signed by the Standard Webhooks
library itself (`Webhook(secret).sign`), as the notifier signs them."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from standardwebhooks import Webhook

from shipnotify.devstack import outbox
from shipnotify.devstack.mail_sandbox import MailSandbox
from shipnotify.devstack.push_sandbox import PushSandbox
from shipnotify.devstack.sms_sandbox import SmsSandbox
from shipnotify.devstack.webhook_sandbox import Mode, WebhookSandbox

pytestmark = pytest.mark.redis_agnostic  # its outcome does not depend on Redis: run once

PAYLOAD = {
    "type": "shipment.status_changed",
    "timestamp": "2026-12-02T04:00:00Z",
    "data": {"shipment_id": "demo-1", "tracking_id": "Q7K2", "status": "picked_up", "version": 3},
}


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def signed(
    secrets_: list[str],
    body: bytes,
    *,
    msg_id: str = "msg_0123456789abcdef0123456789abcdef",
    at: datetime | None = None,
) -> dict[str, str]:
    """The three headers of Standard Webhooks, one signature per secret (as during a
    rotation)."""
    at = at or datetime.now(UTC)
    signatures = " ".join(Webhook(s).sign(msg_id, at, body.decode()) for s in secrets_)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
    }


@pytest.fixture
async def hooks() -> AsyncIterator[WebhookSandbox]:
    async with WebhookSandbox().running() as sandbox:
        yield sandbox


async def post(url: str, body: bytes, headers: dict[str, str], timeout_s: float = 5) -> int:
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.post(url, data=body, headers=headers) as resp,
    ):
        return resp.status


BODY = json.dumps(PAYLOAD, separators=(",", ":")).encode()


async def test_a_request_signed_by_the_library_is_recorded_verified(
    hooks: WebhookSandbox,
) -> None:
    secret = new_secret()
    hooks.trust("demo", secret)

    assert await post(hooks.url("demo"), BODY, signed([secret], BODY)) == 204

    (got,) = hooks.received
    assert (got.endpoint, got.webhook_id, got.type) == (
        "demo",
        "msg_0123456789abcdef0123456789abcdef",
        "shipment.status_changed",
    )
    assert (got.verified, got.reason, got.answered) == (True, "", 204)
    assert got.payload == PAYLOAD
    assert (got.shipment_id, got.version) == ("demo-1", 3)
    assert abs(got.received_at - datetime.now(UTC)) < timedelta(seconds=5)


async def test_during_a_rotation_either_secret_verifies(hooks: WebhookSandbox) -> None:
    old, new = new_secret(), new_secret()
    hooks.trust("demo", old)
    # The sender signs with both while rotating; a receiver that knows only the old one
    # verifies, and so does one that learnt the new one.
    assert await post(hooks.url("demo"), BODY, signed([new, old], BODY)) == 204
    hooks.trust("demo", new)
    assert await post(hooks.url("demo"), BODY, signed([new], BODY)) == 204
    assert [r.verified for r in hooks.received] == [True, True]


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (
            lambda h: h | {"webhook-signature": "v1," + base64.b64encode(b"x" * 32).decode()},
            "No matching signature found",
        ),
        (
            lambda h: {k: v for k, v in h.items() if k != "webhook-signature"},
            "Missing required headers",
        ),
        (lambda h: {k: v for k, v in h.items() if k != "webhook-id"}, "Missing required headers"),
        (lambda h: h | {"webhook-signature": "garbage"}, "Malformed webhook-signature"),
    ],
    ids=["bad-signature", "no-signature", "no-id", "malformed-signature"],
)
async def test_a_request_that_fails_verification_is_recorded_refused(
    hooks: WebhookSandbox, spoil: Any, reason: str
) -> None:
    secret = new_secret()
    hooks.trust("demo", secret)

    assert await post(hooks.url("demo"), BODY, spoil(signed([secret], BODY))) == 401

    (got,) = hooks.received
    assert (got.verified, got.reason, got.answered) == (False, reason, 401)
    assert got.payload == PAYLOAD  # kept, to be looked at


async def test_an_old_timestamp_or_another_secret_or_a_changed_body_is_refused(
    hooks: WebhookSandbox,
) -> None:
    secret = new_secret()
    hooks.trust("demo", secret)
    old = signed([secret], BODY, at=datetime.now(UTC) - timedelta(minutes=6))
    assert await post(hooks.url("demo"), BODY, old) == 401
    assert await post(hooks.url("demo"), BODY, signed([new_secret()], BODY)) == 401
    changed = BODY.replace(b'"version":3', b'"version":4')
    assert await post(hooks.url("demo"), changed, signed([secret], BODY)) == 401
    assert await post(hooks.url("nobody"), BODY, signed([secret], BODY)) == 401

    assert [(r.verified, r.reason) for r in hooks.received] == [
        (False, "Message timestamp too old"),
        (False, "No matching signature found"),
        (False, "No matching signature found"),
        (False, "no secret is trusted for this endpoint"),
    ]


async def test_each_mode_answers_as_it_says(hooks: WebhookSandbox) -> None:
    secret = new_secret()
    for name in ("up", "broken", "gone", "stuck"):
        hooks.trust(name, secret)
    hooks.set_mode("broken", Mode.FAIL)
    hooks.set_mode("gone", Mode.GONE)
    hooks.set_mode("stuck", Mode.HANG)

    assert await post(hooks.url("up"), BODY, signed([secret], BODY)) == 204
    assert await post(hooks.url("broken"), BODY, signed([secret], BODY)) == 500
    assert await post(hooks.url("gone"), BODY, signed([secret], BODY)) == 410
    with pytest.raises(TimeoutError):
        await post(hooks.url("stuck"), BODY, signed([secret], BODY), timeout_s=0.5)
    hooks.set_mode("broken", Mode.OK)  # back up
    assert await post(hooks.url("broken"), BODY, signed([secret], BODY)) == 204

    assert [(r.endpoint, r.verified, r.answered) for r in hooks.received] == [
        ("up", True, 204),
        ("broken", True, 500),
        ("gone", True, 410),
        ("stuck", True, None),
        ("broken", True, 204),
    ]


async def test_modes_and_secrets_are_set_over_http(hooks: WebhookSandbox) -> None:
    secret = new_secret()
    async with aiohttp.ClientSession(hooks.base_url) as http:
        added = await http.post("/_sandbox/endpoints/demo/secrets", json={"secret": secret})
        assert added.status == 200
        bad = await http.post("/_sandbox/endpoints/demo/secrets", json={"secret": "s3cret"})
        assert bad.status == 422
        assert "secret" in (await bad.json())["fields"]
        failing = await http.put("/_sandbox/endpoints/demo/mode", json={"mode": "fail"})
        assert failing.status == 200
        wrong = await http.put("/_sandbox/endpoints/demo/mode", json={"mode": "sleepy"})
        assert (wrong.status, list((await wrong.json())["fields"])) == (422, ["mode"])
        assert hooks.mode("demo") == Mode.FAIL

        assert await post(hooks.url("demo"), BODY, signed([secret], BODY)) == 500
        listed = await (await http.get("/_sandbox/received.json")).json()

    assert [(r["webhook_id"], r["verified"], r["answered"], r["version"]) for r in listed] == [
        ("msg_0123456789abcdef0123456789abcdef", True, 500, 3)
    ]


async def test_it_remembers_a_bounded_number_of_requests() -> None:
    secret = new_secret()
    async with WebhookSandbox(keep=3).running() as hooks:
        hooks.trust("demo", secret)
        for n in range(5):
            await post(hooks.url("demo"), BODY, signed([secret], BODY, msg_id=f"msg_{n}"))
    assert [r.webhook_id for r in hooks.received] == ["msg_2", "msg_3", "msg_4"]


async def test_a_hanging_request_does_not_keep_the_sandbox_from_stopping() -> None:
    secret = new_secret()
    async with WebhookSandbox().running() as hooks:
        hooks.trust("demo", secret)
        hooks.set_mode("demo", Mode.HANG)
        pending = asyncio.create_task(post(hooks.url("demo"), BODY, signed([secret], BODY)))
        async with asyncio.timeout(5):
            while not hooks.received:  # noqa: ASYNC110 (the sandbox signals nothing)
                await asyncio.sleep(0.01)
    with pytest.raises(aiohttp.ClientError):
        await pending  # dropped, never answered


# -- outbox


async def test_the_outbox_lists_the_webhooks_received_in_the_readers_language(
    hooks: WebhookSandbox,
) -> None:
    secret = new_secret()
    hooks.trust("demo", secret)
    await post(hooks.url("demo"), BODY, signed([secret], BODY, msg_id="msg_good"))
    forged = BODY.replace(b"demo-1", b"<i>demo-2</i>")
    await post(hooks.url("demo"), forged, signed([new_secret()], forged, msg_id="msg_forged"))
    app = web.Application()
    outbox.install(app, SmsSandbox("AC" + "00" * 16, "token"), MailSandbox(), PushSandbox(), hooks)

    async with TestClient(TestServer(app)) as client:
        listed = await (await client.get("/outbox.json")).json()
        english = await (await client.get("/outbox")).text()
        russian = await (await client.get("/outbox", headers={"Accept-Language": "ru"})).text()
        romanian = await (await client.get("/outbox?lang=ro")).text()

    newest, oldest = listed["webhooks"]
    assert (newest["webhook_id"], newest["verified"], newest["shipment_id"]) == (
        "msg_forged",
        False,
        "<i>demo-2</i>",
    )
    assert (oldest["webhook_id"], oldest["verified"], oldest["version"]) == ("msg_good", True, 3)
    assert '<h2 id="webhooks">Webhooks (2)</h2>' in english
    rows = re.findall(r"<tr>(.*?)</tr>", english.split('<h2 id="webhooks">')[1], re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in rows[1:]]
    assert [c[1:] for c in cells] == [
        [
            "demo",
            "shipment.status_changed",
            "msg_forged",
            "refused: No matching signature found",
            "&lt;i&gt;demo-2&lt;/i&gt;",
            "3",
            "401",
        ],
        ["demo", "shipment.status_changed", "msg_good", "verified", "demo-1", "3", "204"],
    ]
    assert '<h2 id="webhooks">Вебхуки (2)</h2>' in russian
    assert "отклонена: No matching signature found" in russian
    assert '<html lang="ro">' in romanian
    assert ">verificată<" in romanian
