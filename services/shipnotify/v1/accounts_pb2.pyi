import datetime

from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from shipnotify.v1 import shipment_events_pb2 as _shipment_events_pb2
from shipnotify.v1 import survey_pb2 as _survey_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TeamMember(_message.Message):
    __slots__ = ("name", "role", "phone", "email", "locale", "time_zone", "channels", "statuses")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    name: str
    role: str
    phone: str
    email: str
    locale: str
    time_zone: str
    channels: _containers.RepeatedScalarFieldContainer[_shipment_events_pb2.Channel]
    statuses: _containers.RepeatedScalarFieldContainer[_shipment_events_pb2.Status]
    def __init__(self, name: _Optional[str] = ..., role: _Optional[str] = ..., phone: _Optional[str] = ..., email: _Optional[str] = ..., locale: _Optional[str] = ..., time_zone: _Optional[str] = ..., channels: _Optional[_Iterable[_Union[_shipment_events_pb2.Channel, str]]] = ..., statuses: _Optional[_Iterable[_Union[_shipment_events_pb2.Status, str]]] = ...) -> None: ...

class SurveySettings(_message.Message):
    __slots__ = ("off", "scale", "delay_s")
    OFF_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    DELAY_S_FIELD_NUMBER: _ClassVar[int]
    off: bool
    scale: _survey_pb2.Scale
    delay_s: int
    def __init__(self, off: _Optional[bool] = ..., scale: _Optional[_Union[_survey_pb2.Scale, str]] = ..., delay_s: _Optional[int] = ...) -> None: ...

class KeyAdded(_message.Message):
    __slots__ = ("key_id", "sha256", "label")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    sha256: str
    label: str
    def __init__(self, key_id: _Optional[str] = ..., sha256: _Optional[str] = ..., label: _Optional[str] = ...) -> None: ...

class KeyRevoked(_message.Message):
    __slots__ = ("key_id",)
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    def __init__(self, key_id: _Optional[str] = ...) -> None: ...

class TeamSet(_message.Message):
    __slots__ = ("members",)
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[TeamMember]
    def __init__(self, members: _Optional[_Iterable[_Union[TeamMember, _Mapping]]] = ...) -> None: ...

class AccountCreated(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class EndpointSecret(_message.Message):
    __slots__ = ("secret", "expires_at")
    SECRET_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    secret: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, secret: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Endpoint(_message.Message):
    __slots__ = ("endpoint_id", "url", "event_types", "secrets", "description", "disabled", "disabled_reason", "created_at", "changed_at")
    ENDPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPES_FIELD_NUMBER: _ClassVar[int]
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DISABLED_FIELD_NUMBER: _ClassVar[int]
    DISABLED_REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    endpoint_id: str
    url: str
    event_types: _containers.RepeatedScalarFieldContainer[str]
    secrets: _containers.RepeatedCompositeFieldContainer[EndpointSecret]
    description: str
    disabled: bool
    disabled_reason: str
    created_at: _timestamp_pb2.Timestamp
    changed_at: _timestamp_pb2.Timestamp
    def __init__(self, endpoint_id: _Optional[str] = ..., url: _Optional[str] = ..., event_types: _Optional[_Iterable[str]] = ..., secrets: _Optional[_Iterable[_Union[EndpointSecret, _Mapping]]] = ..., description: _Optional[str] = ..., disabled: _Optional[bool] = ..., disabled_reason: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class EndpointSet(_message.Message):
    __slots__ = ("endpoint", "fields")
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    endpoint: Endpoint
    fields: _field_mask_pb2.FieldMask
    def __init__(self, endpoint: _Optional[_Union[Endpoint, _Mapping]] = ..., fields: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class EndpointRemoved(_message.Message):
    __slots__ = ("endpoint_id",)
    ENDPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    endpoint_id: str
    def __init__(self, endpoint_id: _Optional[str] = ...) -> None: ...

class EndpointDisabled(_message.Message):
    __slots__ = ("endpoint_id", "reason")
    ENDPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    endpoint_id: str
    reason: str
    def __init__(self, endpoint_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class WebhooksReplayed(_message.Message):
    __slots__ = ("endpoint_id", "since", "message_id")
    ENDPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    endpoint_id: str
    since: _timestamp_pb2.Timestamp
    message_id: str
    def __init__(self, endpoint_id: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., message_id: _Optional[str] = ...) -> None: ...

class AccountEvent(_message.Message):
    __slots__ = ("event_id", "account_id", "occurred_at", "recorded_at", "created", "key_added", "key_revoked", "team_set", "survey_settings", "endpoint_set", "endpoint_removed", "endpoint_disabled", "webhooks_replayed")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    KEY_ADDED_FIELD_NUMBER: _ClassVar[int]
    KEY_REVOKED_FIELD_NUMBER: _ClassVar[int]
    TEAM_SET_FIELD_NUMBER: _ClassVar[int]
    SURVEY_SETTINGS_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_SET_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_REMOVED_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_DISABLED_FIELD_NUMBER: _ClassVar[int]
    WEBHOOKS_REPLAYED_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    account_id: str
    occurred_at: _timestamp_pb2.Timestamp
    recorded_at: _timestamp_pb2.Timestamp
    created: AccountCreated
    key_added: KeyAdded
    key_revoked: KeyRevoked
    team_set: TeamSet
    survey_settings: SurveySettings
    endpoint_set: EndpointSet
    endpoint_removed: EndpointRemoved
    endpoint_disabled: EndpointDisabled
    webhooks_replayed: WebhooksReplayed
    def __init__(self, event_id: _Optional[str] = ..., account_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created: _Optional[_Union[AccountCreated, _Mapping]] = ..., key_added: _Optional[_Union[KeyAdded, _Mapping]] = ..., key_revoked: _Optional[_Union[KeyRevoked, _Mapping]] = ..., team_set: _Optional[_Union[TeamSet, _Mapping]] = ..., survey_settings: _Optional[_Union[SurveySettings, _Mapping]] = ..., endpoint_set: _Optional[_Union[EndpointSet, _Mapping]] = ..., endpoint_removed: _Optional[_Union[EndpointRemoved, _Mapping]] = ..., endpoint_disabled: _Optional[_Union[EndpointDisabled, _Mapping]] = ..., webhooks_replayed: _Optional[_Union[WebhooksReplayed, _Mapping]] = ...) -> None: ...
