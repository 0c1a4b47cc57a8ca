import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from shipnotify.v1 import shipment_events_pb2 as _shipment_events_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PartyRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PARTY_ROLE_UNSPECIFIED: _ClassVar[PartyRole]
    PARTY_ROLE_SENDER: _ClassVar[PartyRole]
    PARTY_ROLE_RECIPIENT: _ClassVar[PartyRole]
PARTY_ROLE_UNSPECIFIED: PartyRole
PARTY_ROLE_SENDER: PartyRole
PARTY_ROLE_RECIPIENT: PartyRole

class NotificationJob(_message.Message):
    __slots__ = ("notification_id", "shipment_id", "event_id", "tracking_id", "party", "channel", "address", "name", "locale", "time_zone", "status", "failure", "occurred_at", "planned_at", "traceparent", "tracestate", "received_by", "push_p256dh", "push_auth")
    NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    SHIPMENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKING_ID_FIELD_NUMBER: _ClassVar[int]
    PARTY_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    PLANNED_AT_FIELD_NUMBER: _ClassVar[int]
    TRACEPARENT_FIELD_NUMBER: _ClassVar[int]
    TRACESTATE_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_BY_FIELD_NUMBER: _ClassVar[int]
    PUSH_P256DH_FIELD_NUMBER: _ClassVar[int]
    PUSH_AUTH_FIELD_NUMBER: _ClassVar[int]
    notification_id: str
    shipment_id: str
    event_id: str
    tracking_id: str
    party: PartyRole
    channel: _shipment_events_pb2.Channel
    address: str
    name: str
    locale: str
    time_zone: str
    status: _shipment_events_pb2.Status
    failure: _shipment_events_pb2.AttemptFailure
    occurred_at: _timestamp_pb2.Timestamp
    planned_at: _timestamp_pb2.Timestamp
    traceparent: str
    tracestate: str
    received_by: str
    push_p256dh: str
    push_auth: str
    def __init__(self, notification_id: _Optional[str] = ..., shipment_id: _Optional[str] = ..., event_id: _Optional[str] = ..., tracking_id: _Optional[str] = ..., party: _Optional[_Union[PartyRole, str]] = ..., channel: _Optional[_Union[_shipment_events_pb2.Channel, str]] = ..., address: _Optional[str] = ..., name: _Optional[str] = ..., locale: _Optional[str] = ..., time_zone: _Optional[str] = ..., status: _Optional[_Union[_shipment_events_pb2.Status, str]] = ..., failure: _Optional[_Union[_shipment_events_pb2.AttemptFailure, str]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., planned_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., traceparent: _Optional[str] = ..., tracestate: _Optional[str] = ..., received_by: _Optional[str] = ..., push_p256dh: _Optional[str] = ..., push_auth: _Optional[str] = ...) -> None: ...
