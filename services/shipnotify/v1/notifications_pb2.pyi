import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from shipnotify.v1 import shipment_events_pb2 as _shipment_events_pb2
from shipnotify.v1 import survey_pb2 as _survey_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PartyRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PARTY_ROLE_UNSPECIFIED: _ClassVar[PartyRole]
    PARTY_ROLE_SENDER: _ClassVar[PartyRole]
    PARTY_ROLE_RECIPIENT: _ClassVar[PartyRole]

class NoticeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NOTICE_KIND_UNSPECIFIED: _ClassVar[NoticeKind]
    NOTICE_KIND_SURVEY: _ClassVar[NoticeKind]
    NOTICE_KIND_FOLLOW_UP: _ClassVar[NoticeKind]
    NOTICE_KIND_APOLOGY: _ClassVar[NoticeKind]
    NOTICE_KIND_CASE_ALERT: _ClassVar[NoticeKind]
    NOTICE_KIND_ENDPOINT_DISABLED: _ClassVar[NoticeKind]
PARTY_ROLE_UNSPECIFIED: PartyRole
PARTY_ROLE_SENDER: PartyRole
PARTY_ROLE_RECIPIENT: PartyRole
NOTICE_KIND_UNSPECIFIED: NoticeKind
NOTICE_KIND_SURVEY: NoticeKind
NOTICE_KIND_FOLLOW_UP: NoticeKind
NOTICE_KIND_APOLOGY: NoticeKind
NOTICE_KIND_CASE_ALERT: NoticeKind
NOTICE_KIND_ENDPOINT_DISABLED: NoticeKind

class NotificationJob(_message.Message):
    __slots__ = ("notification_id", "shipment_id", "event_id", "tracking_id", "party", "channel", "address", "name", "locale", "time_zone", "status", "failure", "occurred_at", "planned_at", "traceparent", "tracestate", "received_by", "push_p256dh", "push_auth", "kind", "not_before", "survey_id", "scale", "case_alert", "webhook", "endpoint_alert", "sent_again_of")
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
    KIND_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_FIELD_NUMBER: _ClassVar[int]
    SURVEY_ID_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    CASE_ALERT_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_ALERT_FIELD_NUMBER: _ClassVar[int]
    SENT_AGAIN_OF_FIELD_NUMBER: _ClassVar[int]
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
    kind: NoticeKind
    not_before: _timestamp_pb2.Timestamp
    survey_id: str
    scale: _survey_pb2.Scale
    case_alert: CaseAlert
    webhook: WebhookMessage
    endpoint_alert: EndpointAlert
    sent_again_of: str
    def __init__(self, notification_id: _Optional[str] = ..., shipment_id: _Optional[str] = ..., event_id: _Optional[str] = ..., tracking_id: _Optional[str] = ..., party: _Optional[_Union[PartyRole, str]] = ..., channel: _Optional[_Union[_shipment_events_pb2.Channel, str]] = ..., address: _Optional[str] = ..., name: _Optional[str] = ..., locale: _Optional[str] = ..., time_zone: _Optional[str] = ..., status: _Optional[_Union[_shipment_events_pb2.Status, str]] = ..., failure: _Optional[_Union[_shipment_events_pb2.AttemptFailure, str]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., planned_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., traceparent: _Optional[str] = ..., tracestate: _Optional[str] = ..., received_by: _Optional[str] = ..., push_p256dh: _Optional[str] = ..., push_auth: _Optional[str] = ..., kind: _Optional[_Union[NoticeKind, str]] = ..., not_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., survey_id: _Optional[str] = ..., scale: _Optional[_Union[_survey_pb2.Scale, str]] = ..., case_alert: _Optional[_Union[CaseAlert, _Mapping]] = ..., webhook: _Optional[_Union[WebhookMessage, _Mapping]] = ..., endpoint_alert: _Optional[_Union[EndpointAlert, _Mapping]] = ..., sent_again_of: _Optional[str] = ...) -> None: ...

class WebhookMessage(_message.Message):
    __slots__ = ("message_id", "event_type", "account_id", "endpoint_id", "payload", "created_at")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    event_type: str
    account_id: str
    endpoint_id: str
    payload: bytes
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, message_id: _Optional[str] = ..., event_type: _Optional[str] = ..., account_id: _Optional[str] = ..., endpoint_id: _Optional[str] = ..., payload: _Optional[bytes] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class EndpointAlert(_message.Message):
    __slots__ = ("account_id", "account_name", "endpoint_id", "url", "description", "reason", "failing_since", "disabled_at")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_NAME_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FAILING_SINCE_FIELD_NUMBER: _ClassVar[int]
    DISABLED_AT_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    account_name: str
    endpoint_id: str
    url: str
    description: str
    reason: str
    failing_since: _timestamp_pb2.Timestamp
    disabled_at: _timestamp_pb2.Timestamp
    def __init__(self, account_id: _Optional[str] = ..., account_name: _Optional[str] = ..., endpoint_id: _Optional[str] = ..., url: _Optional[str] = ..., description: _Optional[str] = ..., reason: _Optional[str] = ..., failing_since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., disabled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CaseAlert(_message.Message):
    __slots__ = ("case_id", "depot", "courier_id", "due_at", "scale", "score", "reason", "comment", "source", "party", "timeline", "customer_name", "customer_phone", "customer_email")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    DEPOT_FIELD_NUMBER: _ClassVar[int]
    COURIER_ID_FIELD_NUMBER: _ClassVar[int]
    DUE_AT_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PARTY_FIELD_NUMBER: _ClassVar[int]
    TIMELINE_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_NAME_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_PHONE_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_EMAIL_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    depot: str
    courier_id: str
    due_at: _timestamp_pb2.Timestamp
    scale: _survey_pb2.Scale
    score: int
    reason: _survey_pb2.Reason
    comment: str
    source: _survey_pb2.AnswerSource
    party: PartyRole
    timeline: _containers.RepeatedCompositeFieldContainer[TimelineEntry]
    customer_name: str
    customer_phone: str
    customer_email: str
    def __init__(self, case_id: _Optional[str] = ..., depot: _Optional[str] = ..., courier_id: _Optional[str] = ..., due_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., scale: _Optional[_Union[_survey_pb2.Scale, str]] = ..., score: _Optional[int] = ..., reason: _Optional[_Union[_survey_pb2.Reason, str]] = ..., comment: _Optional[str] = ..., source: _Optional[_Union[_survey_pb2.AnswerSource, str]] = ..., party: _Optional[_Union[PartyRole, str]] = ..., timeline: _Optional[_Iterable[_Union[TimelineEntry, _Mapping]]] = ..., customer_name: _Optional[str] = ..., customer_phone: _Optional[str] = ..., customer_email: _Optional[str] = ...) -> None: ...

class TimelineEntry(_message.Message):
    __slots__ = ("status", "occurred_at", "depot", "failure")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    DEPOT_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    status: _shipment_events_pb2.Status
    occurred_at: _timestamp_pb2.Timestamp
    depot: str
    failure: _shipment_events_pb2.AttemptFailure
    def __init__(self, status: _Optional[_Union[_shipment_events_pb2.Status, str]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., depot: _Optional[str] = ..., failure: _Optional[_Union[_shipment_events_pb2.AttemptFailure, str]] = ...) -> None: ...
