"""Web Push subscriptions from the tracking page: a browser that subscribed (the W3C
PushSubscription, as its toJSON() gives it) is recorded on the events topic as a
`push_subscribed` event of the shipment its tracking id names, and one that stops as
`push_unsubscribed`; the tracker keeps them and the notifier sends to them.

Every rule a body is checked against is in its JSON Schema (the OpenAPI document's)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from aiohttp import web
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, WithJsonSchema

from shipnotify import logs
from shipnotify.hooks import lookups
from shipnotify.model.ids import TRACKING_ID_LENGTH
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.web import event_log as events_topic
from shipnotify.web import json_response, parse_body
from shipnotify.web.fields import Locale, Strict, TimeZone, matching, whole

log = logs.get(__name__)

PATH = "/v1/push-subscriptions"


def _rule(pattern: str, message: str, max_length: int | None = None) -> Any:
    """A string's rules, `pattern` and `max_length`, each stated in its JSON Schema."""
    check = matching(pattern, message)
    longest = {} if max_length is None else {"maxLength": max_length}
    return (
        *([] if max_length is None else [Field(max_length=max_length)]),
        AfterValidator(lambda value: str(check(value))),
        WithJsonSchema({"type": "string", "pattern": pattern, **longest}),
    )


TRACKING_ID_PATTERN = rf"^[a-z2-7]{{{TRACKING_ID_LENGTH}}}$"  # base32, lower case

# The push service's URL: https, or http to a loopback host (a push service on this
# machine: the local stack's sandbox). A host name or IPv4 address, a port, then the
# characters RFC 3986 allows in a path and query.
MAX_ENDPOINT = 2048
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_LOOPBACK = rf"(?:localhost|127\.{_OCTET}\.{_OCTET}\.{_OCTET}|\[::1\])"
_REST = r"(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]*)?"
ENDPOINT_PATTERN = rf"^(?:https://{_LABEL}(?:\.{_LABEL})*|http://{_LOOPBACK}){_REST}$"

# base64url without padding (RFC 4648, section 5, as PushSubscription.toJSON() gives it),
# spelled so that exactly the right bytes decode: p256dh, an uncompressed P-256 point, 65
# bytes of which the first is 0x04 ("B" and a character of A-P); auth, 16 bytes. The last
# character's unused bits are zero, so each value has one spelling.
P256DH_PATTERN = r"^B[A-P][A-Za-z0-9_-]{84}[AEIMQUYcgkosw048]$"
AUTH_PATTERN = r"^[A-Za-z0-9_-]{21}[AQgw]$"

TrackingId = Annotated[
    str, *_rule(TRACKING_ID_PATTERN, f"not a tracking id ({TRACKING_ID_LENGTH} of a-z and 2-7)")
]
Endpoint = Annotated[
    str,
    *_rule(
        ENDPOINT_PATTERN,
        "not a push service URL: https (http only to a loopback host), with a host name",
        MAX_ENDPOINT,
    ),
]
P256dh = Annotated[
    str,
    *_rule(
        P256DH_PATTERN,
        "not a P-256 public key: its uncompressed point (65 bytes, 0x04 first) in base64url"
        " without padding",
    ),
]
AuthSecret = Annotated[
    str, *_rule(AUTH_PATTERN, "not an authentication secret: 16 bytes in base64url, no padding")
]


EpochMs = Annotated[int, Field(ge=0), BeforeValidator(whole)]


class PushKeys(Strict):
    p256dh: P256dh
    auth: AuthSecret


class PushSubscription(Strict):
    """The browser's PushSubscription, as its toJSON() gives it."""

    endpoint: Endpoint
    expirationTime: EpochMs | None = Field(  # the W3C's name
        default=None, description="When the push service ends it (ms since 1970), or null."
    )
    keys: PushKeys


class PushSubscribe(Strict):
    tracking_id: TrackingId
    subscription: PushSubscription
    locale: Locale = Field(description="The page's language: the notices' language.")
    time_zone: TimeZone = Field(description="The browser's IANA time zone.")


class PushUnsubscribe(Strict):
    tracking_id: TrackingId
    endpoint: Endpoint


class PushRecorded(BaseModel):
    event_id: uuid.UUID
    tracking_id: str


async def subscribe(request: web.Request) -> web.Response:
    body = await parse_body(request, PushSubscribe)
    sub = body.subscription
    event = await _event(request, body.tracking_id)
    event.push_subscribed.CopyFrom(
        pb.PushSubscribed(
            endpoint=sub.endpoint,
            p256dh=sub.keys.p256dh,
            auth=sub.keys.auth,
            locale=body.locale,
            time_zone=body.time_zone,
        )
    )
    await events_topic.append(request, [event])
    # (the endpoint names one browser: it is not logged)
    log.info("push subscription recorded", shipment_id=event.shipment_id, event_id=event.event_id)
    return _recorded(event, body.tracking_id)


async def unsubscribe(request: web.Request) -> web.Response:
    body = await parse_body(request, PushUnsubscribe)
    event = await _event(request, body.tracking_id)
    event.push_unsubscribed.endpoint = body.endpoint
    await events_topic.append(request, [event])
    log.info("push subscription ended", shipment_id=event.shipment_id, event_id=event.event_id)
    return _recorded(event, body.tracking_id)


async def _event(request: web.Request, tracking_id: str) -> pb.ShipmentEvent:
    """A new event of the shipment the tracking id names (404 when none does). Its source is
    unspecified: the tracking page's reader is none of the sources the schema names."""
    shipment_id = await lookups.shipment_of(request, tracking_id)
    now = Timestamp()
    now.FromDatetime(datetime.now(UTC))
    event = pb.ShipmentEvent(
        event_id=str(uuid.uuid4()), shipment_id=shipment_id, source=pb.SOURCE_UNSPECIFIED
    )
    event.occurred_at.CopyFrom(now)
    event.recorded_at.CopyFrom(now)
    return event


def _recorded(event: pb.ShipmentEvent, tracking_id: str) -> web.Response:
    return json_response(
        PushRecorded(event_id=uuid.UUID(event.event_id), tracking_id=tracking_id), 202
    )
