"""The account API: the operator creates and lists business customers' accounts; the
operator or the account's own key changes its keys, team, survey settings and webhook
endpoints, reads its delivery log and asks for replays. Every change is an AccountEvent
appended to the accounts topic (acks=all) before the answer; reads come from Redis, as the
tracker's accounts consumer wrote it: a change is answered once it is readable (a few ms),
so the next request sees it.
Anything of another account answers 404."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from google.protobuf.field_mask_pb2 import FieldMask
from redis.asyncio import Redis

from shipnotify import backoff, logs, targets
from shipnotify import web as sweb
from shipnotify.config import Settings
from shipnotify.ingest import account_schemas as s
from shipnotify.model import accounts as model
from shipnotify.model.status import Status
from shipnotify.model.survey import SCALE_NAMES
from shipnotify.store import UNREACHABLE
from shipnotify.store import accounts as stored
from shipnotify.store import webhooks as webhook_log
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.web import ApiError, Route, callers, json_response, parse_body
from shipnotify.web import account_changes as changes
from shipnotify.web import event_log as topics
from shipnotify.web.callers import Caller

log = logs.get(__name__)

SETTINGS = web.AppKey("accounts_settings", Settings)
REDIS = web.AppKey("accounts_redis", Redis)
_READ_TIMEOUT_S = 2.0
_APPLIED_WAIT_S = 3.0
_SCALES = {v: k for k, v in SCALE_NAMES.items()}


# ---- who may do what


async def caller_of(request: web.Request) -> Caller:
    settings = request.app[SETTINGS]
    return await callers.caller(
        request.headers.get("X-Api-Key"), settings.api_keys, request.app[REDIS]
    )


async def _operator(request: web.Request) -> None:
    if not (await caller_of(request)).operator:
        raise ApiError(
            403, "forbidden", "only the operator may do this", {"X-Api-Key": "not the operator's"}
        )


async def _account(request: web.Request) -> stored.Account:
    """The account the path names, if the caller may see it; else 404."""
    caller = await caller_of(request)
    account_id = request.match_info["account_id"]
    found: stored.Account | None = None
    if caller.may_see(account_id):
        found = await _read(stored.account(request.app[REDIS], account_id))
    if found is None:
        raise callers.not_found("account", "account_id")
    return found


def _endpoint_of(account: stored.Account, request: web.Request) -> apb.Endpoint:
    endpoint_id = request.match_info["endpoint_id"]
    for endpoint in account.endpoints:
        if endpoint.endpoint_id == endpoint_id:
            return endpoint
    raise callers.not_found("endpoint", "endpoint_id")


async def _read(reading: Any) -> Any:
    try:
        async with asyncio.timeout(_READ_TIMEOUT_S):
            return await reading
    except (*UNREACHABLE, TimeoutError):
        raise callers.unavailable() from None


async def _append(request: web.Request, event: apb.AccountEvent) -> s.AccountChanged:
    await topics.append_accounts(request, [event])
    await _until_applied(request, event)
    log.info(
        "account change recorded",
        account_id=event.account_id,
        event_id=event.event_id,
        kind=str(event.WhichOneof("body")),
    )
    return s.AccountChanged(event_id=event.event_id, account_id=event.account_id)  # type: ignore[arg-type]


async def _until_applied(
    request: web.Request, event: apb.AccountEvent, *, key_sha256: str = ""
) -> None:
    """Answers once the tracker has applied the change (a few ms), so that the caller's next
    request reads it: an account made can be given an endpoint at once. A tracker that is
    behind delays the answer _APPLIED_WAIT_S at most; the change is durable all the same."""
    redis = request.app[REDIS]
    try:
        async with asyncio.timeout(_APPLIED_WAIT_S):
            async for _ in backoff.attempts(first_s=0.005, cap_s=0.1):
                if await stored.applied(redis, event.account_id, event.event_id, key_sha256):
                    return
    except (*UNREACHABLE, TimeoutError):
        log.warning("account change not yet applied", event_id=event.event_id)


async def _safe(request: web.Request, url: str) -> None:
    try:
        await targets.check(url, allow_loopback=request.app[SETTINGS].webhook_allow_loopback)
    except targets.Unsafe as e:
        raise ApiError(422, "invalid_field", f"url: {e.reason}", {"url": e.reason}) from None


# ---- accounts


async def create_account(request: web.Request) -> web.Response:
    await _operator(request)
    body = await parse_body(request, s.NewAccount)
    account_id = model.new_account_id()
    key_id, key = model.new_key()
    created = model.event(account_id, created=apb.AccountCreated(name=body.name))
    added = model.event(
        account_id, key_added=apb.KeyAdded(key_id=key_id, sha256=model.key_sha256(key))
    )
    await topics.append_accounts(request, [created, added])
    await _until_applied(request, added, key_sha256=model.key_sha256(key))
    log.info("account created", account_id=account_id, key_id=key_id)
    return json_response(s.AccountMade(account_id=account_id, key_id=key_id, key=key), 201)


async def list_accounts(request: web.Request) -> web.Response:
    await _operator(request)
    found = await _read(stored.accounts(request.app[REDIS]))
    items = [s.AccountItem(account_id=a, name=n) for a, n in sorted(found.items())]
    return json_response(s.AccountList(accounts=items))


async def get_account(request: web.Request) -> web.Response:
    return json_response(_account_view(await _account(request)))


# ---- keys


async def add_key(request: web.Request) -> web.Response:
    body = await parse_body(request, s.NewKey)
    account = await _account(request)
    key_id, key = model.new_key()
    added = apb.KeyAdded(key_id=key_id, sha256=model.key_sha256(key), label=body.label or "")
    await _append(request, model.event(account.account_id, key_added=added))
    return json_response(s.KeyMade(key_id=key_id, key=key), 201)


async def revoke_key(request: web.Request) -> web.Response:
    account = await _account(request)
    key_id = request.match_info["key_id"]
    if key_id not in {k.key_id for k in account.keys}:
        raise callers.not_found("key", "key_id")
    revoked = apb.KeyRevoked(key_id=key_id)
    return json_response(
        await _append(request, model.event(account.account_id, key_revoked=revoked)), 202
    )


# ---- team and survey


async def set_team(request: web.Request) -> web.Response:
    body = await parse_body(request, changes.Team)
    account = await _account(request)
    return json_response(await _append(request, changes.team_set(account.account_id, body)), 202)


async def set_survey(request: web.Request) -> web.Response:
    body = await parse_body(request, s.Survey)
    account = await _account(request)
    settings = apb.SurveySettings(off=body.off)
    if body.scale:
        settings.scale = SCALE_NAMES[body.scale]  # type: ignore[assignment]
    if body.delay_s is not None:
        settings.delay_s = body.delay_s
    changed = model.event(account.account_id, survey_settings=settings)
    return json_response(await _append(request, changed), 202)


# ---- webhook endpoints


async def add_endpoint(request: web.Request) -> web.Response:
    body = await parse_body(request, s.NewEndpoint)
    account = await _account(request)
    await _safe(request, body.url)
    endpoint = apb.Endpoint(
        endpoint_id=model.new_endpoint_id(),
        url=body.url,
        event_types=list(body.event_types),
        description=body.description or "",
        secrets=[apb.EndpointSecret(secret=model.new_secret())],
    )
    await _append(request, _endpoint_set(account.account_id, endpoint))
    view = _endpoint_view(endpoint)
    made = s.EndpointMade(**view.model_dump(), secret=endpoint.secrets[0].secret)
    return json_response(made, 201)


async def list_endpoints(request: web.Request) -> web.Response:
    account = await _account(request)
    return json_response(s.EndpointList(endpoints=[_endpoint_view(e) for e in account.endpoints]))


async def get_endpoint(request: web.Request) -> web.Response:
    account = await _account(request)
    return json_response(_endpoint_view(_endpoint_of(account, request)))


async def change_endpoint(request: web.Request) -> web.Response:
    body = await parse_body(request, s.EndpointChange)
    account = await _account(request)
    endpoint = _endpoint_of(account, request)
    fields = []
    if body.url is not None:
        await _safe(request, body.url)
        endpoint.url = body.url
        fields.append("url")
    if body.event_types is not None:
        del endpoint.event_types[:]
        endpoint.event_types.extend(body.event_types)
        fields.append("event_types")
    if body.description is not None:
        endpoint.description = body.description
        fields.append("description")
    if body.disabled is not None:
        endpoint.disabled = body.disabled
        endpoint.disabled_reason = "disabled by the account" if body.disabled else ""
        fields += ["disabled", "disabled_reason"]
    await _append(request, _endpoint_set(account.account_id, endpoint, fields))
    return json_response(_endpoint_view(endpoint), 202)


async def remove_endpoint(request: web.Request) -> web.Response:
    account = await _account(request)
    endpoint = _endpoint_of(account, request)
    removed = apb.EndpointRemoved(endpoint_id=endpoint.endpoint_id)
    event = model.event(account.account_id, endpoint_removed=removed)
    return json_response(await _append(request, event), 202)


async def rotate_secret(request: web.Request) -> web.Response:
    """A new secret; the current one keeps signing beside it for SHIPNOTIFY_WEBHOOK_ROTATION_S
    (receivers switch meanwhile); secrets already expired go."""
    await request.read()  # a body over the limit is refused (413) though none is wanted
    account = await _account(request)
    endpoint = _endpoint_of(account, request)
    now = datetime.now(UTC)
    until = now + timedelta(seconds=request.app[SETTINGS].webhook_rotation_s)
    kept = []
    for secret in endpoint.secrets:
        if not secret.HasField("expires_at"):
            secret.expires_at.FromDatetime(until)
        if secret.expires_at.ToDatetime(UTC) > now:
            kept.append(secret)
    new = apb.EndpointSecret(secret=model.new_secret())
    del endpoint.secrets[:]
    endpoint.secrets.extend([new, *kept])
    await _append(request, _endpoint_set(account.account_id, endpoint, ["secrets"]))
    return json_response(s.SecretRotated(secret=new.secret, old_expires_at=until if kept else None))


async def deliveries(request: web.Request) -> web.Response:
    account = await _account(request)
    endpoint = _endpoint_of(account, request)
    limit = _limit(request)
    found = await _read(webhook_log.tries(request.app[REDIS], [endpoint.endpoint_id], count=limit))
    entries = found[endpoint.endpoint_id]
    return json_response(s.Deliveries(deliveries=[_delivery(t) for _, t in entries]))


async def replay(request: web.Request) -> web.Response:
    body = await parse_body(request, changes.Replay)
    account = await _account(request)
    endpoint = _endpoint_of(account, request)
    event = changes.webhooks_replayed(account.account_id, endpoint.endpoint_id, body)
    return json_response(await _append(request, event), 202)


# ---- views


def _endpoint_set(
    account_id: str, endpoint: apb.Endpoint, fields: Sequence[str] = ()
) -> apb.AccountEvent:
    """The whole endpoint (added), or a change: only `fields` travel, and the tracker sets
    them onto the endpoint as it then stands."""
    if not fields:
        return model.event(account_id, endpoint_set=apb.EndpointSet(endpoint=endpoint))
    mask = FieldMask(paths=list(fields))
    sparse = apb.Endpoint(endpoint_id=endpoint.endpoint_id)
    mask.MergeMessage(endpoint, sparse)
    return model.event(account_id, endpoint_set=apb.EndpointSet(endpoint=sparse, fields=mask))


def _endpoint_view(e: apb.Endpoint) -> s.EndpointView:
    return s.EndpointView(
        endpoint_id=e.endpoint_id,
        url=e.url,
        event_types=list(e.event_types),
        description=e.description,
        disabled=e.disabled,
        disabled_reason=e.disabled_reason or None,
    )


def _account_view(a: stored.Account) -> s.AccountView:
    survey = None
    if a.survey is not None:
        survey = s.SurveyView(
            off=a.survey.off,
            scale=_SCALES.get(a.survey.scale),
            delay_s=a.survey.delay_s if a.survey.HasField("delay_s") else None,
        )
    return s.AccountView(
        account_id=a.account_id,
        name=a.name,
        created_at=datetime.fromtimestamp(a.created_at_ms / 1000, UTC),
        keys=[s.KeyView(key_id=k.key_id, label=k.label) for k in a.keys],
        team=[_member_view(m) for m in a.team],
        survey=survey,
        endpoints=[_endpoint_view(e) for e in a.endpoints],
    )


def _member_view(m: apb.TeamMember) -> s.MemberView:
    return s.MemberView(
        name=m.name,
        role=m.role or "",
        phone=m.phone or None,
        email=m.email or None,
        locale=m.locale,
        time_zone=m.time_zone,
        channels=["sms" if ch == pb.CHANNEL_SMS else "email" for ch in m.channels],
        statuses=[Status.from_proto(st).value for st in m.statuses],
    )


async def team_of(request: web.Request, account_id: str) -> list[apb.TeamMember]:
    found: list[apb.TeamMember] = await _read(stored.team(request.app[REDIS], account_id))
    return found


def team_contact(m: apb.TeamMember) -> pb.Contact:
    """A team member as a registration's contact (the team copied into the event)."""
    return pb.Contact(
        name=m.name,
        phone=m.phone,
        email=m.email,
        locale=m.locale,
        time_zone=m.time_zone,
        channels=list(m.channels),
        statuses=list(m.statuses),
    )


def _delivery(t: webhook_log.Try) -> s.Delivery:
    return s.Delivery(
        message_id=t.message_id,
        notification_id=t.notification_id,
        attempt=t.attempt,
        status=t.status,
        ms=t.ms,
        error=t.error,
        at=datetime.fromtimestamp(t.at_ms / 1000, UTC),
    )


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise ApiError(
            422,
            "invalid_field",
            "limit: a whole number from 1 to 1000",
            {"limit": "a whole number from 1 to 1000"},
        )
    return int(raw)


# ---- the route table

_ACCOUNT = {"account_id": s.PathId}
_ENDPOINT = {"account_id": s.PathId, "endpoint_id": s.PathId}
_CHANGED = ("appended to the accounts topic; readable a few ms later", s.AccountChanged)
_UNAVAILABLE = ("Kafka or Redis is unreachable; retry after Retry-After", sweb.ErrorBody)
_NOT_FOUND = ("no such account (or another account's)", sweb.ErrorBody)
_NO_ENDPOINT = ("no such account or endpoint (or another account's)", sweb.ErrorBody)
_OPERATOR = ("not the operator's key", sweb.ErrorBody)
_BASE = "/v1/accounts/{account_id}"
_HOOK = _BASE + "/webhooks/{endpoint_id}"


def _route(
    method: str, path: str, handler: Any, summary: str, ok: dict[int, Any], **kw: Any
) -> Route:
    not_found = _NO_ENDPOINT if "{endpoint_id}" in path else _NOT_FOUND
    responses = {**ok, 404: not_found, 503: _UNAVAILABLE}
    if "{account_id}" not in path:
        responses = {**ok, 403: _OPERATOR, 503: _UNAVAILABLE}
    types = _ENDPOINT if "{endpoint_id}" in path else _ACCOUNT if "{account_id}" in path else {}
    types = kw.pop("path_types", types)
    return Route(
        method,
        path,
        handler,
        summary,
        responses,
        security="apiKey",
        tag="accounts",
        path_types=types,
        **kw,
    )


ROUTES = [
    _route(
        "POST",
        "/v1/accounts",
        create_account,
        "Create a business customer's account (operator); its first key is shown once",
        {201: ("created", s.AccountMade)},
        body=s.NewAccount,
    ),
    _route(
        "GET",
        "/v1/accounts",
        list_accounts,
        "Every account (operator)",
        {200: ("the accounts", s.AccountList)},
    ),
    _route(
        "GET",
        _BASE,
        get_account,
        "An account: its keys (ids, labels), team, survey settings, endpoints (no secrets)",
        {200: ("the account", s.AccountView)},
    ),
    _route(
        "POST",
        _BASE + "/keys",
        add_key,
        "Add an API key (shown once)",
        {201: ("made", s.KeyMade)},
        body=s.NewKey,
    ),
    _route(
        "DELETE",
        _BASE + "/keys/{key_id}",
        revoke_key,
        "Revoke an API key",
        {202: _CHANGED},
        path_types={"account_id": s.PathId, "key_id": s.PathId},
    ),
    _route(
        "PUT",
        _BASE + "/team",
        set_team,
        "Set the team: the contacts of a registration that names none for a party",
        {202: _CHANGED},
        body=changes.Team,
    ),
    _route(
        "PUT",
        _BASE + "/survey",
        set_survey,
        "Set the survey settings of the account's shipments",
        {202: _CHANGED},
        body=s.Survey,
    ),
    _route(
        "POST",
        _BASE + "/webhooks",
        add_endpoint,
        "Add a webhook endpoint; its signing secret is shown once",
        {201: ("added", s.EndpointMade)},
        body=s.NewEndpoint,
    ),
    _route(
        "GET",
        _BASE + "/webhooks",
        list_endpoints,
        "The account's webhook endpoints",
        {200: ("the endpoints", s.EndpointList)},
    ),
    _route(
        "GET", _HOOK, get_endpoint, "A webhook endpoint", {200: ("the endpoint", s.EndpointView)}
    ),
    _route(
        "PATCH",
        _HOOK,
        change_endpoint,
        "Change an endpoint's url, event types, description or disabled flag",
        {202: ("the endpoint as changed", s.EndpointView)},
        body=s.EndpointChange,
    ),
    _route("DELETE", _HOOK, remove_endpoint, "Remove a webhook endpoint", {202: _CHANGED}),
    _route(
        "POST",
        _HOOK + "/secret:rotate",
        rotate_secret,
        "A new signing secret; the old one signs too for SHIPNOTIFY_WEBHOOK_ROTATION_S",
        {200: ("the new secret", s.SecretRotated)},
    ),
    _route(
        "GET",
        _HOOK + "/deliveries",
        deliveries,
        "The endpoint's delivery log: each try, newest first",
        {200: ("the log", s.Deliveries)},
        parameters=[
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                "description": "at most this many tries (100)",
            }
        ],
    ),
    _route(
        "POST",
        _HOOK + "/replay",
        replay,
        "Send again every message since a time, or one message, with the same webhook-id",
        {202: _CHANGED},
        body=changes.Replay,
    ),
]
