"""Security over HTTP: bodies over the limit on every POST route, signed webhooks, courier
tokens on every courier route, status_api failing closed without its secrets, and the
client's address believed from trusted proxies only.

test_ingest covers 413 on one route and 401 for missing or malformed credentials;
test_notifications covers a forged or missing X-Twilio-Signature. This adds the rest.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import jwt
import pytest
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis
from structlog.testing import capture_logs
from twilio.request_validator import RequestValidator

from shipnotify import kafka, web
from shipnotify.config import Settings
from shipnotify.hooks import app as hooks_app
from shipnotify.status_api import app as status_app
from shipnotify.store.notices import NoticeBook
from shipnotify.web.auth import AUDIENCE, issue_courier_token

from .conftest import Api, WindowClock, api_key, courier, eventually, registration, tap, unique

TOKEN = "twilio-auth-token-for-tests"
BASE = "https://hooks.example"
PHONE = "+37369000123"  # opted out under the test's own secret (see the settings fixture)
LIMIT = 4096
WEBHOOKS = {"/v1/twilio/status", "/v1/twilio/inbound"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A small body limit, so that going over it is cheap."""
    return settings.with_(max_body_bytes=LIMIT)


def signed(form: dict[str, str], url: str, token: str = TOKEN) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, form)}


@pytest.fixture
async def hooks(settings: Settings) -> AsyncIterator[Api]:
    """hooks with a Twilio auth token, reached by the provider at BASE, once its producer is
    connected (a final receipt goes to the feedback topic)."""
    await kafka.ensure_topics(settings)
    app = web.new_app(settings.max_body_bytes)
    hooks_app.install(app, settings.with_(twilio_auth_token=TOKEN, webhook_url=BASE))
    async with TestClient(TestServer(app)) as client:

        async def ready() -> bool:
            return (await client.get("/readyz")).status == 200

        await eventually(ready)
        yield client


def routes(client: Api, method: str) -> list[web.Route]:
    assert client.app is not None
    return [r for r in client.app[web.ROUTES] if r.method == method]


# -- request bodies over max_body_bytes ---------------------------------------------------


def _headers(route: web.Route, settings: Settings) -> dict[str, str]:
    """Valid credentials, so that the limit, not the caller, is what gets tested."""
    if route.security is None:
        return {"Content-Type": "application/x-www-form-urlencoded"}
    auth = courier(settings) if "courierToken" in route.security else api_key(settings)
    return {**auth, "Content-Type": "application/json"}


def _body(route: web.Route, size: int) -> bytes:
    if route.security is None:  # a webhook: a form
        return b"Body=" + b"x" * (size - 5)
    return b'{"padding":"' + b"x" * (size - 14) + b'"}'


# A value for each path parameter, of its shape (the router takes no "{" in a path)
PATH_VALUES = {
    "shipment_id": "s-big",
    "token": "c2hpcA.bWFj",
    "tracking_id": "a" * 20,
    "case_id": "0b6ae9c6-1f2e-4c6b-9a53-4f1c2a8d9e10",
    "account_id": "acct_big",
    "endpoint_id": "ep_big",
    "key_id": "k",
}


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 1000):
        yield body[start : start + 1000]


async def test_every_post_route_answers_413_over_max_body_bytes(
    api: Api, settings: Settings
) -> None:
    posts = routes(api, "POST")
    assert {r.path for r in posts} >= {
        "/v1/shipments",
        "/v1/shipments/{shipment_id}/events",
        "/v1/events:batch",
        *WEBHOOKS,
    }
    for route in posts:
        path = route.path.format(**PATH_VALUES)
        headers = _headers(route, settings)
        for size in (LIMIT + 1, 10 * LIMIT):
            body = _body(route, size)
            assert len(body) == size
            for data in (body, _chunks(body)):  # with a Content-Length, and chunked
                resp = await api.post(path, data=data, headers=headers)
                assert resp.status == 413, (route.path, size, await resp.text())
                error = await resp.json()
                assert error["error"] == "request_entity_too_large"
                assert "body" in error["fields"]
        # the control: at the limit the body is read (and refused for what it says; the
        resp = await api.post(path, data=_body(route, LIMIT), headers=headers)
        # the landing page's form, for its link, which names no survey; an account's route,
        # for an account that does not exist)
        unknown = route.path.startswith(("/s/", "/v1/accounts/"))
        refusals = {400, 403, 422} | ({404} if unknown else set())
        assert resp.status in refusals, (route.path, await resp.text())


# -- Twilio webhooks ------------------------------------------------------------------------


def _requests() -> dict[str, tuple[str, dict[str, str]]]:
    """A valid request for each webhook: its path with query, and its form."""
    return {
        "/v1/twilio/inbound": (
            "/v1/twilio/inbound",
            {"From": PHONE, "To": "+15005550006", "Body": "STOP", "MessageSid": "SM1"},
        ),
        "/v1/twilio/status": (
            "/v1/twilio/status?s=sec-1&n=notice-1",
            {"MessageSid": "SM1", "MessageStatus": "delivered", "To": PHONE},
        ),
    }


async def test_every_webhook_refuses_a_request_not_signed_for_exactly_it(
    hooks: Api, settings: Settings, redis: Redis
) -> None:
    # hooks' only POSTs but what the tracking page and the survey's landing page send, which
    # anyone may, and the operators' (behind their key)
    assert {r.path for r in routes(hooks, "POST") if r.security is None} == {
        *WEBHOOKS,
        "/v1/push-subscriptions",
        "/s/{token}",
        "/s/{token}/follow-up",
        "/v1/answers/{tracking_id}",
        "/v1/answers/{tracking_id}/follow-up",
    }
    requests = _requests()
    book = NoticeBook(redis, settings.notifications_topic, opt_out_secret=settings.opt_out_secret)
    for path in WEBHOOKS:
        path_qs, form = requests[path]
        other_qs, other_form = next(v for k, v in requests.items() if k != path)
        url = BASE + path_qs
        first_key = next(iter(form))
        refused: list[tuple[str, str, dict[str, str], dict[str, str]]] = [
            ("no signature", path_qs, form, {}),
            ("empty signature", path_qs, form, {"X-Twilio-Signature": ""}),
            ("another token", path_qs, form, signed(form, url, token=TOKEN + "x")),
            ("the other webhook's", path_qs, form, signed(other_form, BASE + other_qs)),
            ("another host", path_qs, form, signed(form, "https://evil.example" + path_qs)),
            (
                "another query",
                path_qs + ("&" if "?" in path_qs else "?") + "x=1",
                form,
                signed(form, url),
            ),
            (
                "a form changed after",
                path_qs,
                {**form, first_key: form[first_key] + "0"},
                signed(form, url),
            ),
            ("a field added after", path_qs, {**form, "Extra": "1"}, signed(form, url)),
        ]
        if path_qs != path:  # the query is signed too
            refused.append(("signed without its query", path_qs, form, signed(form, BASE + path)))
        for what, sent_qs, sent_form, headers in refused:
            resp = await hooks.post(sent_qs, data=sent_form, headers=headers)
            assert resp.status == 403, (path, what, await resp.text())
            assert (await resp.json())["fields"] == {"X-Twilio-Signature": "invalid"}
        assert not await book.opted_out(PHONE), path  # none of them took effect
        # the control: exactly the request that was signed is taken
        resp = await hooks.post(path_qs, data=form, headers=signed(form, url))
        assert resp.status in {200, 204}, (path, await resp.text())
        if path == "/v1/twilio/inbound":
            assert await book.opted_out(PHONE)  # the signed STOP
            await book.opt_in(PHONE)


async def test_hooks_without_its_secrets_fails_closed(settings: Settings) -> None:
    """No Twilio auth token: no signature is valid, not even one made with the empty key.
    No API key: the operator endpoint lets no one in, not even with an empty key."""
    bare = settings.with_(twilio_auth_token="", api_keys=(), webhook_url=BASE)
    app = web.new_app(bare.max_body_bytes)
    hooks_app.install(app, bare)
    async with TestClient(TestServer(app)) as client:
        for path_qs, form in _requests().values():
            resp = await client.post(path_qs, data=form, headers=signed(form, BASE + path_qs, ""))
            assert resp.status == 403
        for headers in ({}, {"X-Api-Key": ""}, {"X-Api-Key": "test-key"}):
            resp = await client.get("/v1/shipments/sec-1/notices", headers=headers)
            assert resp.status == 401


# -- courier tokens on every courier route --------------------------------------------------


def _bad_tokens(settings: Settings) -> dict[str, str]:
    secret = settings.courier_token_secret
    claims = {"sub": "courier-1", "aud": AUDIENCE, "iat": int(time.time())}
    return {
        "expired": issue_courier_token(secret, "courier-1", 60, now=time.time() - 3600),
        "alg none": jwt.encode({**claims, "exp": 2**40}, "", algorithm="none"),
        "HS512": jwt.encode(
            {**claims, "exp": 2**40}, secret + "-long-enough-for-hs512" * 2, algorithm="HS512"
        ),
        "no exp": jwt.encode(claims, secret, algorithm="HS256"),
        "no sub": jwt.encode(
            {"aud": AUDIENCE, "iat": claims["iat"], "exp": 2**40}, secret, algorithm="HS256"
        ),
        "another secret": issue_courier_token("another-secret-" + "y" * 40, "courier-1", 600),
    }


async def test_every_courier_route_refuses_expired_and_forged_tokens(
    api: Api, settings: Settings
) -> None:
    sid = unique("sec")
    courier_routes = [r for r in routes(api, "POST") if "courierToken" in (r.security or "")]
    assert {r.path for r in courier_routes} == {
        "/v1/shipments/{shipment_id}/events",
        "/v1/events:batch",
    }
    bodies: dict[str, Any] = {
        "/v1/shipments/{shipment_id}/events": tap("picked_up"),
        "/v1/events:batch": {"events": [{**tap("picked_up"), "shipment_id": sid}]},
    }
    for route in courier_routes:
        path = route.path.replace("{shipment_id}", sid)
        for what, token in _bad_tokens(settings).items():
            headers = {"Authorization": f"Bearer {token}"}
            resp = await api.post(path, json=bodies[route.path], headers=headers)
            assert resp.status == 401, (path, what)
            assert resp.headers["WWW-Authenticate"].startswith("Bearer")
            assert (await resp.json())["error"] == "unauthorized"
        resp = await api.post(path, json=bodies[route.path], headers=courier(settings))
        assert resp.status in {200, 202}, await resp.text()  # the control
    # a courier token is not an API key: registration stays with the order system
    resp = await api.post("/v1/shipments", json=registration(sid), headers=courier(settings))
    assert resp.status == 401


# -- the client behind proxies --------------------------------------------------------------


@asynccontextmanager
async def _limited(
    settings: Settings, clock: WindowClock, trusted: tuple[str, ...]
) -> AsyncIterator[Api]:
    """status_api allowing 2 requests a minute per client, and hooks, behind `trusted`
    proxies, in one app as `shipnotify dev` serves them; the rate limit counts in a window
    of the test's own (`clock`)."""
    own = settings.with_(
        track_requests_per_minute=2,
        trusted_proxies=trusted,
        twilio_auth_token=TOKEN,
        webhook_url=BASE,
    )
    app = status_app.init_app(own, clock=clock)
    hooks_app.install(app, own)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


async def _statuses(client: Api, *forwarded: dict[str, str]) -> list[int]:
    return [
        (await client.get("/v1/track/unknowntracking00000", headers=h)).status for h in forwarded
    ]


def _for(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": f"6.6.6.6, {address}"}  # 6.6.6.6: what the client wrote itself


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(
    settings: Settings, clock: WindowClock
) -> None:
    a, b = "203.0.113.7", "203.0.113.8"
    v6 = "2001:db8::7"
    async with _limited(settings, clock, ("127.0.0.1/32",)) as client:
        with capture_logs() as logged:
            assert await _statuses(client, _for(a), _for(a), _for(a)) == [404, 404, 429]
            assert await _statuses(client, _for(b), _for(b)) == [404, 404]
            rfc7239 = {"Forwarded": f'for="[{v6}]:4711";proto=https'}
            assert await _statuses(client, rfc7239, rfc7239, rfc7239) == [404, 404, 429]
            resp = await client.post("/v1/twilio/inbound", data={"Body": "STOP"}, headers=_for(b))
            assert resp.status == 403
    limited = [e["client"] for e in logged if e["event"] == "client rate limited"]
    assert limited == [a, v6]
    refused = [e["client"] for e in logged if e["event"] == "webhook with a bad signature refused"]
    assert refused == [b]


async def test_a_peer_that_is_no_trusted_proxy_cannot_name_another_client(
    settings: Settings, clock: WindowClock
) -> None:
    """Spoofing: the headers of a peer outside SHIPNOTIFY_TRUSTED_PROXIES are ignored, so
    naming a new client each time does not reset the limit."""
    async with _limited(settings, clock, ("10.0.0.0/8",)) as client:
        with capture_logs() as logged:
            statuses = await _statuses(
                client,
                _for("203.0.113.1"),
                {"Forwarded": "for=203.0.113.2"},
                _for("203.0.113.3"),
                _for("203.0.113.4"),
            )
            resp = await client.post(
                "/v1/twilio/inbound", data={"Body": "STOP"}, headers=_for("203.0.113.5")
            )
            assert resp.status == 403
    assert statuses == [404, 404, 429, 429]
    assert {e["client"] for e in logged if "client" in e} == {"127.0.0.1"}
