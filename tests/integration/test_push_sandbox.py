"""The push sandbox, driven by the real Web Push library (pywebpush, over aiohttp) with a VAPID
key of py_vapid; the requests pywebpush will not make are made by hand with PyJWT and
http_ece, from one that is shown to be taken."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import http_ece
import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid
from pywebpush import WebPushException, webpush_async

from shipnotify.devstack import outbox
from shipnotify.devstack.mail_sandbox import MailSandbox
from shipnotify.devstack.push_request import from_b64url, to_b64url
from shipnotify.devstack.push_sandbox import PushSandbox
from shipnotify.devstack.sms_sandbox import SmsSandbox
from shipnotify.devstack.webhook_sandbox import WebhookSandbox

pytestmark = pytest.mark.redis_agnostic  # its outcome does not depend on Redis: run once

CONTACT = "mailto:ops@carrier.example"
NOTICE = {"title": "Coletul tău a fost livrat", "url": "https://track.example/t/Q7K2"}


class FakeClock:
    """The sandbox's wall clock, moved by the test: tokens expire and fault windows end
    without sleeping."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def push(clock: FakeClock) -> AsyncIterator[PushSandbox]:
    async with PushSandbox(clock=clock).running() as sandbox:
        yield sandbox


@pytest.fixture
def vapid() -> Vapid:
    key = Vapid()
    key.generate_keys()
    return key


async def send(
    subscription: dict[str, Any], vapid: Vapid, data: str | None = None, **kwargs: Any
) -> aiohttp.ClientResponse:
    """As the notifier sends: pywebpush, aes128gcm, a VAPID token for the endpoint's origin."""
    response = await webpush_async(
        subscription,
        data,
        vapid_private_key=vapid,
        vapid_claims={"sub": CONTACT},  # a new dict: pywebpush adds aud and exp to it
        **kwargs,
    )
    assert isinstance(response, aiohttp.ClientResponse)
    return response


async def refused(subscription: dict[str, Any], vapid: Vapid) -> aiohttp.ClientResponse:
    with pytest.raises(WebPushException) as e:
        await send(subscription, vapid, json.dumps(NOTICE), ttl=60)
    assert isinstance(e.value.response, aiohttp.ClientResponse)
    return e.value.response


def public_b64url(key: ec.EllipticCurvePrivateKey) -> str:
    raw = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return to_b64url(raw)


# -- taken


async def test_a_push_is_decrypted_and_kept(push: PushSandbox, vapid: Vapid) -> None:
    subscription = push.subscribe()
    payload = json.dumps(NOTICE, ensure_ascii=False)

    response = await send(
        subscription, vapid, payload, ttl=3600, headers={"Urgency": "high", "Topic": "Q7K2"}
    )

    assert response.status == 201
    [message] = push.messages
    assert response.headers["Location"] == f"{push.base_url}/message/{message.id}"
    assert response.headers["TTL"] == "3600"
    assert message.payload == payload
    assert message.payload_json == NOTICE
    assert message.endpoint == subscription["endpoint"]
    assert subscription["endpoint"] == f"{push.base_url}/push/{message.subscription_id}"
    assert (message.ttl, message.urgency, message.topic) == (3600, "high", "Q7K2")
    assert message.vapid_sub == CONTACT


async def test_a_push_without_data_is_kept(push: PushSandbox, vapid: Vapid) -> None:
    response = await send(push.subscribe(), vapid, None)

    assert response.status == 201
    [message] = push.messages
    assert (message.payload, message.payload_json, message.ttl) == ("", None, 0)


async def test_a_subscription_is_a_browsers(push: PushSandbox) -> None:
    subscription = push.subscribe()

    assert set(subscription) == {"endpoint", "expirationTime", "keys"}
    assert subscription["expirationTime"] is None
    p256dh = from_b64url(subscription["keys"]["p256dh"])
    assert (len(p256dh), p256dh[0]) == (65, 4)  # an uncompressed P-256 point
    assert len(from_b64url(subscription["keys"]["auth"])) == 16
    assert push.subscribe()["endpoint"] != subscription["endpoint"]


# -- refused: requests made by hand


class HandMade:
    """A push request pywebpush would make, built by hand so one part can be made wrong."""

    def __init__(self, subscription: dict[str, Any], origin: str) -> None:
        self.endpoint = subscription["endpoint"]
        self.receiver = from_b64url(subscription["keys"]["p256dh"])
        self.auth = from_b64url(subscription["keys"]["auth"])
        self.server_key = ec.generate_private_key(ec.SECP256R1())
        self.claims: dict[str, Any] = {
            "aud": origin,
            "exp": int(time.time()) + 3600,
            "sub": CONTACT,
        }
        self.headers = {"TTL": "60", "Content-Encoding": "aes128gcm"}
        self.payload = json.dumps(NOTICE).encode()

    def authorization(self, signer: ec.EllipticCurvePrivateKey | None = None) -> str:
        token = jwt.encode(self.claims, signer or self.server_key, algorithm="ES256")
        return f"vapid t={token}, k={public_b64url(self.server_key)}"

    def body(self, auth: bytes | None = None) -> bytes:
        return bytes(
            http_ece.encrypt(
                self.payload,
                private_key=ec.generate_private_key(ec.SECP256R1()),  # the sender's, per push
                dh=self.receiver,
                auth_secret=auth or self.auth,
                version="aes128gcm",
            )
        )

    async def post(
        self, authorization: str | None = None, body: bytes | None = None
    ) -> tuple[int, str]:
        headers = {**self.headers, "Authorization": authorization or self.authorization()}
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                self.endpoint, data=self.body() if body is None else body, headers=headers
            ) as response,
        ):
            return response.status, await response.text()


@pytest.fixture
def hand_made(push: PushSandbox) -> HandMade:
    return HandMade(push.subscribe(), push.base_url)


async def test_the_hand_made_push_is_taken_as_made(push: PushSandbox, hand_made: HandMade) -> None:
    """What the refusals below change one part of."""
    assert await hand_made.post() == (201, "")
    assert push.messages[0].payload_json == NOTICE


def _signed_by_another_key(r: HandMade) -> str:
    return r.authorization(signer=ec.generate_private_key(ec.SECP256R1()))


def _signed_with_hs256(r: HandMade) -> str:
    """The "alg" confusion: HMAC keyed with the public key the header names."""
    k = public_b64url(r.server_key)
    token = jwt.encode(r.claims, k.encode(), algorithm="HS256")
    return f"vapid t={token}, k={k}"


def _for(claim: str, value: Any) -> Callable[[HandMade], str]:
    def authorization(r: HandMade) -> str:
        r.claims[claim] = value
        return r.authorization()

    return authorization


def _without(claim: str) -> Callable[[HandMade], str]:
    def authorization(r: HandMade) -> str:
        del r.claims[claim]
        return r.authorization()

    return authorization


@pytest.mark.parametrize(
    ("make_authorization", "reason"),
    [
        pytest.param(_signed_by_another_key, "Signature verification failed", id="signature"),
        pytest.param(_signed_with_hs256, "alg value is not allowed", id="alg"),
        pytest.param(_for("aud", "http://127.0.0.1:1"), "Audience doesn't match", id="aud"),
        pytest.param(_for("exp", int(time.time()) - 1), "expired", id="exp-past"),
        pytest.param(_for("exp", int(time.time()) + 25 * 3600), "24 hours", id="exp-far"),
        pytest.param(_for("sub", "http://carrier.example"), "sub is not", id="sub"),
        pytest.param(_without("sub"), '"sub" claim', id="no-sub"),
        pytest.param(lambda r: "WebPush " + r.authorization().split()[1], "vapid t=", id="scheme"),
        pytest.param(lambda r: r.authorization().split(",")[0], "t and k", id="no-k"),
    ],
)
async def test_an_invalid_vapid_authorization_is_401(
    push: PushSandbox,
    hand_made: HandMade,
    make_authorization: Callable[[HandMade], str],
    reason: str,
) -> None:
    status, text = await hand_made.post(authorization=make_authorization(hand_made))

    assert (status, reason in text) == (401, True), text
    assert push.messages == []


async def test_a_missing_ttl_is_400(push: PushSandbox, hand_made: HandMade) -> None:
    del hand_made.headers["TTL"]

    assert await hand_made.post() == (400, "TTL header required")
    assert push.messages == []


async def test_an_undecryptable_body_is_400(push: PushSandbox, hand_made: HandMade) -> None:
    not_its_auth = bytes(16)

    status, text = await hand_made.post(body=hand_made.body(auth=not_its_auth))

    assert (status, text) == (400, "the body does not decrypt with the subscription's keys")
    assert push.messages == []


async def test_another_content_encoding_is_415(push: PushSandbox, hand_made: HandMade) -> None:
    hand_made.headers["Content-Encoding"] = "aesgcm"

    status, text = await hand_made.post()

    assert (status, text) == (415, "Content-Encoding must be aes128gcm")
    assert push.messages == []


async def test_a_body_over_4096_bytes_is_413(push: PushSandbox, vapid: Vapid) -> None:
    subscription = push.subscribe()
    await send(subscription, vapid, "x" * 3993)  # 4096 bytes encrypted: the most it takes

    with pytest.raises(WebPushException) as e:
        await send(subscription, vapid, "x" * 3994)

    assert e.value.response.status == 413
    assert [len(m.payload) for m in push.messages] == [3993]


# -- refused: subscriptions


async def test_a_push_signed_by_another_key_than_the_subscriptions_is_403(
    push: PushSandbox, vapid: Vapid
) -> None:
    other = Vapid()
    other.generate_keys()
    subscription = push.subscribe(application_server_key=public_b64url(vapid.private_key))

    assert (await refused(subscription, other)).status == 403
    assert (await send(subscription, vapid, "ok")).status == 201
    assert [m.payload for m in push.messages] == ["ok"]


async def test_an_unknown_subscription_is_404(push: PushSandbox, vapid: Vapid) -> None:
    subscription = push.subscribe()
    subscription["endpoint"] = f"{push.base_url}/push/not-one-of-ours"

    assert (await refused(subscription, vapid)).status == 404


async def test_an_unsubscribed_subscription_is_410_from_then_on(
    push: PushSandbox, vapid: Vapid
) -> None:
    kept, dropped = push.subscribe(), push.subscribe()

    push.unsubscribe(dropped["endpoint"])

    assert (await refused(dropped, vapid)).status == 410
    assert (await refused(dropped, vapid)).status == 410
    assert (await send(kept, vapid, "ok")).status == 201
    with pytest.raises(KeyError):
        push.unsubscribe(f"{push.base_url}/push/not-one-of-ours")


async def test_a_token_is_refused_once_the_sandbox_clock_passes_its_exp(
    push: PushSandbox, vapid: Vapid, clock: FakeClock
) -> None:
    subscription = push.subscribe()
    assert (await send(subscription, vapid, "ok")).status == 201

    clock.advance(13 * 3600)  # pywebpush's tokens last 12 hours

    response = await refused(subscription, vapid)
    assert (response.status, await response.text()) == (401, "VAPID: the token has expired")


# -- faults


@pytest.mark.parametrize("status", [404, 410, 429, 500, 502, 503])
async def test_an_injected_fault_answers_the_next_pushes(
    push: PushSandbox, vapid: Vapid, status: int
) -> None:
    subscription = push.subscribe()
    push.fail_next(2, status)

    answers = [await refused(subscription, vapid), await refused(subscription, vapid)]
    taken = await send(subscription, vapid, "after")

    assert [r.status for r in answers] == [status, status]
    retry_after = "1" if status in (429, 503) else None
    assert [r.headers.get("Retry-After") for r in answers] == [retry_after] * 2
    assert taken.status == 201
    assert [m.payload for m in push.messages] == ["after"]


async def test_a_fault_window_ends_by_the_sandbox_clock(
    push: PushSandbox, vapid: Vapid, clock: FakeClock
) -> None:
    subscription = push.subscribe()
    push.fail_for(30, 503)

    first = await refused(subscription, vapid)
    clock.advance(29)
    last = await refused(subscription, vapid)
    clock.advance(1)

    assert (first.status, last.status) == (503, 503)
    assert (await send(subscription, vapid, "back")).status == 201


async def test_a_fault_needs_a_push_service_status(push: PushSandbox) -> None:
    for status in (200, 400, 401):
        with pytest.raises(ValueError, match="not a status this sandbox fails with"):
            push.fail_next(1, status)


# -- the sandbox's own HTTP API


async def test_subscriptions_and_faults_over_http(push: PushSandbox, vapid: Vapid) -> None:
    async with aiohttp.ClientSession(push.base_url) as http:
        made = await http.post("/_sandbox/subscriptions")
        subscription = await made.json()
        faults = await http.post("/_sandbox/faults", json={"status": 429, "count": 2})
        assert (made.status, faults.status) == (201, 200)
        statuses = [(await refused(subscription, vapid)).status for _ in range(2)]
        taken = await send(subscription, vapid, "after the faults")

        await http.post("/_sandbox/faults", json={"status": 500, "seconds": 30})
        in_window = await refused(subscription, vapid)
        assert (await http.delete("/_sandbox/faults")).status == 200
        cleared = await send(subscription, vapid, "after the window")

        sid = subscription["endpoint"].rsplit("/", 1)[1]
        assert (await http.post(f"/_sandbox/subscriptions/{sid}/gone")).status == 200
        gone = await refused(subscription, vapid)

    assert statuses == [429, 429]
    assert (taken.status, in_window.status, cleared.status, gone.status) == (201, 500, 201, 410)
    assert [m.payload for m in push.messages] == ["after the faults", "after the window"]


async def test_a_subscription_made_over_http_can_be_restricted_to_a_key(
    push: PushSandbox, vapid: Vapid
) -> None:
    other = Vapid()
    other.generate_keys()
    key = public_b64url(vapid.private_key)

    async with aiohttp.ClientSession(push.base_url) as http:
        made = await http.post("/_sandbox/subscriptions", json={"applicationServerKey": key})
        subscription = await made.json()

    assert (await refused(subscription, other)).status == 403
    assert (await send(subscription, vapid, "ok")).status == 201


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/_sandbox/faults", {"status": 200}, "status"),
        ("/_sandbox/faults", {"status": 500, "count": 0}, "count"),
        ("/_sandbox/faults", {"count": 1}, "status"),
        ("/_sandbox/subscriptions", {"applicationServerKey": "not-a-key"}, "applicationServerKey"),
    ],
)
async def test_a_bad_sandbox_request_is_named(
    push: PushSandbox, path: str, body: dict[str, Any], field: str
) -> None:
    async with aiohttp.ClientSession(push.base_url) as http:
        response = await http.post(path, json=body)
        error = await response.json()

    assert response.status == 422
    assert set(error) == {"error", "message", "fields"}
    assert list(error["fields"]) == [field]


async def test_gone_for_an_unknown_subscription_is_404(push: PushSandbox) -> None:
    async with aiohttp.ClientSession(push.base_url) as http:
        response = await http.post("/_sandbox/subscriptions/nobody/gone")
        error = await response.json()

    assert (response.status, error["fields"]) == (404, {"id": "unknown"})


# -- outbox


async def test_the_outbox_lists_the_pushes_decrypted(
    push: PushSandbox, vapid: Vapid, clock: FakeClock
) -> None:
    subscription = push.subscribe()
    await send(subscription, vapid, "<b>plain</b>", ttl=60)
    clock.advance(1)
    await send(subscription, vapid, json.dumps(NOTICE), ttl=3600, headers={"Urgency": "high"})
    app = web.Application()
    outbox.install(
        app, SmsSandbox("AC" + "00" * 16, "token"), MailSandbox(), push, WebhookSandbox()
    )

    async with TestClient(TestServer(app)) as client:
        listed = await (await client.get("/outbox.json")).json()
        html = await (await client.get("/outbox")).text()

    newest, oldest = listed["push"]
    assert (newest["json"], newest["ttl"], newest["urgency"]) == (NOTICE, 3600, "high")
    assert (oldest["payload"], oldest["json"]) == ("<b>plain</b>", None)
    assert newest["endpoint"] == subscription["endpoint"]
    assert '<h2 id="push">Push (2)</h2>' in html
    assert "&lt;b&gt;plain&lt;/b&gt;" in html
    assert "<b>plain" not in html
    assert "Coletul tău a fost livrat" in html
    assert "TTL 3600 s, urgency high" in html
