"""ingest's HTTP app: the URL table, the handlers, and init_app()."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from google.protobuf.timestamp_pb2 import Timestamp
from opentelemetry import trace
from pydantic import TypeAdapter, ValidationError
from redis.asyncio import Redis

from shipnotify import logs, metrics
from shipnotify import web as sweb
from shipnotify.config import Settings
from shipnotify.ingest import accounts, courier, courier_app
from shipnotify.ingest.schemas import (
    MAX_TAP_AGE,
    TEAM_DEFAULT,
    Accepted,
    AssignCourier,
    BatchResult,
    BatchStatusEvent,
    Id,
    ItemResult,
    Party,
    RawBatch,
    Registered,
    RegisterShipment,
    Run,
    StatusBatch,
    StatusEvent,
    Stop,
)
from shipnotify.model.ids import tracking_id_for, tracking_url
from shipnotify.model.status import Status
from shipnotify.store import UNREACHABLE
from shipnotify.store.couriers import CourierRuns
from shipnotify.store.event_ids import EventId, EventIds
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.web import ApiError, Route, auth, callers, json_response, parse_body
from shipnotify.web import event_log as events_topic
from shipnotify.web import redis as sredis
from shipnotify.web.contacts import Contact
from shipnotify.web.event_log import EVENT_LOG as EVENT_LOG  # the app's, by ingest's name
from shipnotify.web.event_log import EventLog

log = logs.get(__name__)

SETTINGS = web.AppKey("ingest_settings", Settings)
EVENT_IDS = web.AppKey("event_ids", EventIds)

_SHIPMENT_ID: TypeAdapter[str] = TypeAdapter(Id)
_CHECK_TIMEOUT_S = 0.5
_REUSED = "already used for another event of this shipment; a retry must repeat the same event"


async def register_shipment(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    who = await accounts.caller_of(request)
    context = _context(request) | {TEAM_DEFAULT: not who.operator}
    body = await parse_body(request, RegisterShipment, context)
    sender, recipient = await _parties(request, who, body.sender, body.recipient)
    if not who.operator:  # the account's from now on: a second account gets 404
        await callers.claim(request.app[accounts.REDIS], who, body.shipment_id)
    tracking_id = tracking_id_for(settings.tracking_id_secret, body.shipment_id)
    event = _envelope(
        body.shipment_id,
        str(body.event_id or uuid.uuid4()),
        body.occurred_at,
        pb.SOURCE_ORDER_SYSTEM,
    )
    event.registered.tracking_id = tracking_id
    event.registered.sender.CopyFrom(sender)
    event.registered.recipient.CopyFrom(recipient)
    event.registered.courier_id = body.courier_id or ""
    event.registered.delivery_address = body.delivery_address or ""
    event.registered.depot = body.depot or ""
    event.registered.account_id = who.account_id
    if body.event_id is not None:  # one of ours is new every time
        _refuse_a_conflict(await _check_ids(request, [event]))
    await events_topic.append(request, [event])
    log.info("shipment registered", shipment_id=body.shipment_id, event_id=event.event_id)
    return json_response(
        Registered(
            event_id=uuid.UUID(event.event_id),
            shipment_id=body.shipment_id,
            tracking_id=tracking_id,
            tracking_url=tracking_url(settings.public_url, tracking_id),
        ),
        202,
    )


async def record_status(request: web.Request) -> web.Response:
    source, courier_id, who = await _caller(request)
    shipment_id = _shipment_id(request)
    await callers.check_owner(request.app[accounts.REDIS], who, shipment_id)
    body = await parse_body(request, StatusEvent, _context(request))
    event = _status_event(shipment_id, body, source, courier_id)
    if courier_id and await courier.held_elsewhere(request, courier_id, [shipment_id]) == [True]:
        raise ApiError(
            403, "forbidden", f"the shipment is {courier.ASSIGNED_ELSEWHERE}",
            {"shipment_id": courier.ASSIGNED_ELSEWHERE},
        )  # fmt: skip
    _refuse_a_conflict(await _check_ids(request, [event]))
    await events_topic.append(request, [event])
    log.info(
        "status recorded",
        shipment_id=shipment_id,
        event_id=event.event_id,
        status=body.status,
        courier_id=courier_id,
    )
    return json_response(Accepted(event_id=body.event_id, shipment_id=shipment_id), 202)


async def record_status_batch(request: web.Request) -> web.Response:
    source, courier_id, who = await _caller(request)
    raw = await parse_body(request, RawBatch)
    limit = request.app[SETTINGS].max_batch_events
    if len(raw.events) > limit:
        raise ApiError(
            413,
            "too_many_events",
            f"at most {limit} events a batch",
            {"events": f"{len(raw.events)} > {limit}"},
        )
    results: list[ItemResult] = []
    valid: list[tuple[int, pb.ShipmentEvent]] = []
    context = _context(request)
    for i, item in enumerate(raw.events):
        try:
            body = BatchStatusEvent.model_validate(item, context=context)
        except ValidationError as e:
            fields = sweb.validation_error(e, prefix=f"events.{i}.").fields
            results.append(ItemResult(index=i, result="rejected", fields=fields))
            continue
        valid.append((i, _status_event(body.shipment_id, body, source, courier_id)))
    elsewhere = courier_id and await courier.held_elsewhere(
        request, courier_id, [e.shipment_id for _, e in valid]
    )
    verdicts = await _check_ids(request, [e for _, e in valid])
    owned = [True] * len(valid)
    if not who.operator:  # an account key taps only its own account's shipments
        found = await callers.owners(request.app[accounts.REDIS], [e.shipment_id for _, e in valid])
        owned = [o == who.account_id for o in found]
    events = []
    for n, (i, event) in enumerate(valid):
        refused = None
        if not owned[n]:
            not_found = {f"events.{i}.shipment_id": "not found"}
            results.append(ItemResult(index=i, result="rejected", status=404, fields=not_found))
            continue
        if elsewhere and elsewhere[n]:
            refused = {f"events.{i}.shipment_id": courier.ASSIGNED_ELSEWHERE}
        elif verdicts and verdicts[n] is EventId.CONFLICT:
            refused = {f"events.{i}.event_id": _REUSED}
        if refused:
            results.append(ItemResult(index=i, result="rejected", fields=refused))
            continue
        events.append(event)
        results.append(ItemResult(index=i, result="accepted", event_id=uuid.UUID(event.event_id)))
    results.sort(key=lambda r: r.index)
    await events_topic.append(request, events)
    accepted = len(events)
    log.info(
        "status batch recorded",
        accepted=accepted,
        rejected=len(results) - accepted,
        courier_id=courier_id,
    )
    return json_response(
        BatchResult(accepted=accepted, rejected=len(results) - accepted, results=results)
    )


async def erase_contacts(request: web.Request) -> web.Response:
    """The order system asks to forget a shipment's contacts (a person's request, say): the
    tracker deletes them and cancels the notices not yet sent; the anonymous timeline stays."""
    who = await accounts.caller_of(request)
    shipment_id = _shipment_id(request)
    await callers.check_owner(request.app[accounts.REDIS], who, shipment_id)
    event = _envelope(shipment_id, str(uuid.uuid4()), None, pb.SOURCE_ORDER_SYSTEM)
    event.contacts_erased.SetInParent()
    await events_topic.append(request, [event])
    log.info("contacts erasure recorded", shipment_id=shipment_id, event_id=event.event_id)
    return json_response(Accepted(event_id=uuid.UUID(event.event_id), shipment_id=shipment_id), 202)


async def assign_courier(request: web.Request) -> web.Response:
    """The order system or an operator gives a shipment to a courier (or to nobody)."""
    who = await accounts.caller_of(request)
    shipment_id = _shipment_id(request)
    await callers.check_owner(request.app[accounts.REDIS], who, shipment_id)
    body = await parse_body(request, AssignCourier)
    event = _envelope(shipment_id, str(uuid.uuid4()), None, pb.SOURCE_OPERATOR)
    event.courier_assigned.courier_id = body.courier_id or ""
    await events_topic.append(request, [event])
    log.info(
        "courier assigned", shipment_id=shipment_id, event_id=event.event_id,
        courier_id=body.courier_id,
    )  # fmt: skip
    return json_response(Accepted(event_id=uuid.UUID(event.event_id), shipment_id=shipment_id), 202)


async def courier_run(request: web.Request) -> web.Response:
    return await courier.run_of(request, _courier(request))


async def courier_stop(request: web.Request) -> web.Response:
    return await courier.one_stop(request, _courier(request))


UNAVAILABLE = (
    "Kafka did not acknowledge: nothing appended; retry after Retry-After",
    sweb.ErrorBody,
)

REUSED = (
    "the event_id is already another event's of this shipment (nothing appended); a retry"
    " must send the same event",
    sweb.ErrorBody,
)

ROUTES = [
    Route(
        "POST",
        "/v1/shipments",
        register_shipment,
        "Register a shipment with its sender and recipient contacts",
        {
            202: ("appended to the events topic", Registered),
            409: REUSED,
            503: UNAVAILABLE,
        },
        body=RegisterShipment,
        security="apiKey",
        tag="ingest",
    ),
    Route(
        "POST",
        "/v1/shipments/{shipment_id}/events",
        record_status,
        "Record a status tap",
        {
            202: ("appended to the events topic", Accepted),
            403: (f"the shipment is {courier.ASSIGNED_ELSEWHERE}", sweb.ErrorBody),
            409: REUSED,
            503: UNAVAILABLE,
        },
        body=StatusEvent,
        security="courierToken|apiKey",
        tag="ingest",
        path_types={"shipment_id": Id},
    ),
    Route(
        "POST",
        "/v1/events:batch",
        record_status_batch,
        "Record the taps an app kept while offline; a result per item",
        {
            200: ("every valid item appended; see results", BatchResult),
            503: UNAVAILABLE,
        },
        body=StatusBatch,
        security="courierToken|apiKey",
        tag="ingest",
    ),
    Route(
        "PUT",
        "/v1/shipments/{shipment_id}/courier",
        assign_courier,
        "Give a shipment to a courier, whose app then lists it (null: to nobody)",
        {
            202: ("the assignment is appended to the events topic", Accepted),
            503: UNAVAILABLE,
        },
        body=AssignCourier,
        security="apiKey",
        tag="couriers",
        path_types={"shipment_id": Id},
    ),
    Route(
        "GET",
        "/v1/courier/shipments",
        courier_run,
        "The token's courier's shipments, as the app lists them, and the rule of progress",
        {200: ("the run", Run), 503: ("Redis is unreachable; retry", sweb.ErrorBody)},
        security="courierToken",
        tag="couriers",
    ),
    Route(
        "GET",
        "/v1/courier/shipments/{tracking_id}",
        courier_stop,
        "A shipment by its tracking number (typed or scanned): unassigned, or the courier's",
        {
            200: ("the shipment", Stop),
            403: (f"{courier.ASSIGNED_ELSEWHERE}", sweb.ErrorBody),
            404: ("no shipment has this tracking number", sweb.ErrorBody),
            503: ("Redis is unreachable; retry", sweb.ErrorBody),
        },
        security="courierToken",
        tag="couriers",
    ),
    Route(
        "DELETE",
        "/v1/shipments/{shipment_id}/contacts",
        erase_contacts,
        "Forget a shipment's contacts: deleted, the notices not yet sent cancelled; the"
        " anonymous timeline stays",
        {
            202: ("the erasure is appended to the events topic", Accepted),
            422: ("a malformed shipment id", sweb.ErrorBody),
            503: UNAVAILABLE,
        },
        security="apiKey",
        tag="ingest",
        path_types={"shipment_id": Id},
    ),
]


def install(
    app: web.Application,
    settings: Settings,
    *,
    event_log: EventLog | None = None,
    redis: Redis | None = None,
) -> None:
    """Adds ingest to an app (its own, or the single app of `shipnotify dev`)."""
    settings.require("api_keys", "courier_token_secret", "tracking_id_secret")
    app[SETTINGS] = settings
    # Readiness is Kafka's alone: with Redis away, event ids go unchecked here and the
    # tracker checks them.
    events_topic.install(app, settings, given=event_log)
    client = sredis.client_of(app, settings, given=redis)
    app[EVENT_IDS] = EventIds(client)
    app[courier.COURIERS] = CourierRuns(client)
    app[accounts.SETTINGS], app[accounts.REDIS] = settings, client
    sweb.add_routes(app, ROUTES + accounts.ROUTES)
    courier_app.install(app)  # the courier app's page and files


def init_app(
    settings: Settings,
    *,
    event_log: EventLog | None = None,
    redis: Redis | None = None,
    tracer: trace.Tracer | None = None,
) -> web.Application:
    app = sweb.new_app(
        settings.max_body_bytes, trusted_proxies=settings.trusted_proxies, tracer=tracer
    )
    install(app, settings, event_log=event_log, redis=redis)
    return app


def _shipment_id(request: web.Request) -> str:
    shipment_id = request.match_info["shipment_id"]
    try:
        _SHIPMENT_ID.validate_python(shipment_id)
    except ValidationError as e:
        raise sweb.validation_error(e, prefix="shipment_id") from None
    return shipment_id


async def _check_ids(request: web.Request, events: list[pb.ShipmentEvent]) -> list[EventId] | None:
    """Whether each event's id is new, a retry of it, or another event's; None when Redis
    does not answer soon (then the tracker tells, with a dead letter): a tap is never
    refused for want of this check."""
    if not events:
        return []
    try:
        async with asyncio.timeout(_CHECK_TIMEOUT_S):
            verdicts = await request.app[EVENT_IDS].check(events)
    except (*UNREACHABLE, TimeoutError) as e:
        log.warning("event ids not checked", error=repr(e), events=len(events))
        metrics.EVENT_ID_CHECKS.labels("unchecked").inc(len(events))
        return None
    for verdict in verdicts:
        metrics.EVENT_ID_CHECKS.labels(verdict.value).inc()
    return verdicts


def _refuse_a_conflict(verdicts: list[EventId] | None) -> None:
    if verdicts and verdicts[0] is EventId.CONFLICT:
        raise ApiError(409, "conflict", f"event_id: {_REUSED}", {"event_id": _REUSED})


def _context(request: web.Request) -> dict[str, Any]:
    """What checking a body needs from the settings: how old a tap may be."""
    return {MAX_TAP_AGE: timedelta(days=request.app[SETTINGS].max_tap_age_days)}


def _courier(request: web.Request) -> str:
    return auth.courier_id_from(
        request.headers.get("Authorization"), request.app[SETTINGS].courier_token_secret
    )


async def _caller(request: web.Request) -> tuple[pb.Source, str, callers.Caller]:
    """A courier with a token, or the order system (the operator's key, or an account's)
    with its key (for confirm or cancel)."""
    if "X-Api-Key" in request.headers and "Authorization" not in request.headers:
        return pb.SOURCE_ORDER_SYSTEM, "", await accounts.caller_of(request)
    return pb.SOURCE_COURIER_APP, _courier(request), callers.OPERATOR


def _envelope(
    shipment_id: str, event_id: str, occurred_at: datetime | None, source: pb.Source
) -> pb.ShipmentEvent:
    now = datetime.now(UTC)
    event = pb.ShipmentEvent(event_id=event_id, shipment_id=shipment_id, source=source)
    event.occurred_at.CopyFrom(_ts(occurred_at or now))
    event.recorded_at.CopyFrom(_ts(now))
    return event


def _status_event(
    shipment_id: str, body: StatusEvent, source: pb.Source, courier_id: str
) -> pb.ShipmentEvent:
    event = _envelope(shipment_id, str(body.event_id), body.occurred_at, source)
    change = event.status_changed
    change.status = Status(body.status).proto
    change.courier_id = courier_id
    change.received_by = body.received_by or ""
    if body.failure:
        change.failure = body.failure.proto
    if body.location:
        loc = body.location
        change.location.CopyFrom(
            pb.Location(
                depot=loc.depot or "", city=loc.city or "", country_code=loc.country_code or ""
            )
        )
    return event


async def _parties(request: web.Request, who: callers.Caller, *parties: Party) -> list[pb.Party]:
    """The parties as the event holds them: a party an account's registration names no
    contacts for gets the account's team, copied (a later change of the team does not
    change a registered shipment); no team: 422 naming the party's contacts."""
    team: list[apb.TeamMember] | None = None
    made = []
    for name, party in zip(("sender", "recipient"), parties, strict=True):
        if party.contacts is not None:
            made.append(pb.Party(contacts=[_contact(c) for c in party.contacts]))
            continue
        if team is None:
            team = await accounts.team_of(request, who.account_id)
        if not team:
            why = "required: the account has no team to stand in (PUT /v1/accounts/{id}/team)"
            raise ApiError(
                422, "invalid_field", f"{name}.contacts: {why}", {f"{name}.contacts": why}
            )
        made.append(pb.Party(contacts=[accounts.team_contact(m) for m in team]))
    return made


def _contact(c: Contact) -> pb.Contact:
    return pb.Contact(
        name=c.name,
        phone=c.phone or "",
        email=c.email or "",
        locale=c.locale,
        time_zone=c.time_zone,
        channels=[pb.CHANNEL_SMS if ch == "sms" else pb.CHANNEL_EMAIL for ch in c.channels or []],
        statuses=[Status(st).proto for st in c.statuses or []],
        no_surveys=not c.surveys,
    )


def _ts(when: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(when.astimezone(UTC))
    return ts
