import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STATUS_UNSPECIFIED: _ClassVar[Status]
    STATUS_REGISTERED: _ClassVar[Status]
    STATUS_CONFIRMED: _ClassVar[Status]
    STATUS_AWAITING_PICKUP: _ClassVar[Status]
    STATUS_PICKED_UP: _ClassVar[Status]
    STATUS_IN_TRANSIT: _ClassVar[Status]
    STATUS_OUT_FOR_DELIVERY: _ClassVar[Status]
    STATUS_DELIVERY_ATTEMPTED: _ClassVar[Status]
    STATUS_READY_FOR_COLLECTION: _ClassVar[Status]
    STATUS_DELIVERED: _ClassVar[Status]
    STATUS_RETURNED_TO_SENDER: _ClassVar[Status]
    STATUS_CANCELLED: _ClassVar[Status]

class AttemptFailure(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ATTEMPT_FAILURE_UNSPECIFIED: _ClassVar[AttemptFailure]
    ATTEMPT_FAILURE_RECIPIENT_ABSENT: _ClassVar[AttemptFailure]
    ATTEMPT_FAILURE_ADDRESS_INCORRECT: _ClassVar[AttemptFailure]
    ATTEMPT_FAILURE_REFUSED: _ClassVar[AttemptFailure]
    ATTEMPT_FAILURE_NO_ACCESS: _ClassVar[AttemptFailure]
    ATTEMPT_FAILURE_BUSINESS_CLOSED: _ClassVar[AttemptFailure]
    ATTEMPT_FAILURE_OTHER: _ClassVar[AttemptFailure]

class Channel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANNEL_UNSPECIFIED: _ClassVar[Channel]
    CHANNEL_SMS: _ClassVar[Channel]
    CHANNEL_EMAIL: _ClassVar[Channel]
    CHANNEL_PUSH: _ClassVar[Channel]
    CHANNEL_WEBHOOK: _ClassVar[Channel]

class Source(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SOURCE_UNSPECIFIED: _ClassVar[Source]
    SOURCE_ORDER_SYSTEM: _ClassVar[Source]
    SOURCE_COURIER_APP: _ClassVar[Source]
    SOURCE_OPERATOR: _ClassVar[Source]
STATUS_UNSPECIFIED: Status
STATUS_REGISTERED: Status
STATUS_CONFIRMED: Status
STATUS_AWAITING_PICKUP: Status
STATUS_PICKED_UP: Status
STATUS_IN_TRANSIT: Status
STATUS_OUT_FOR_DELIVERY: Status
STATUS_DELIVERY_ATTEMPTED: Status
STATUS_READY_FOR_COLLECTION: Status
STATUS_DELIVERED: Status
STATUS_RETURNED_TO_SENDER: Status
STATUS_CANCELLED: Status
ATTEMPT_FAILURE_UNSPECIFIED: AttemptFailure
ATTEMPT_FAILURE_RECIPIENT_ABSENT: AttemptFailure
ATTEMPT_FAILURE_ADDRESS_INCORRECT: AttemptFailure
ATTEMPT_FAILURE_REFUSED: AttemptFailure
ATTEMPT_FAILURE_NO_ACCESS: AttemptFailure
ATTEMPT_FAILURE_BUSINESS_CLOSED: AttemptFailure
ATTEMPT_FAILURE_OTHER: AttemptFailure
CHANNEL_UNSPECIFIED: Channel
CHANNEL_SMS: Channel
CHANNEL_EMAIL: Channel
CHANNEL_PUSH: Channel
CHANNEL_WEBHOOK: Channel
SOURCE_UNSPECIFIED: Source
SOURCE_ORDER_SYSTEM: Source
SOURCE_COURIER_APP: Source
SOURCE_OPERATOR: Source

class Contact(_message.Message):
    __slots__ = ("name", "phone", "email", "locale", "time_zone", "channels", "statuses", "no_surveys")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    NO_SURVEYS_FIELD_NUMBER: _ClassVar[int]
    name: str
    phone: str
    email: str
    locale: str
    time_zone: str
    channels: _containers.RepeatedScalarFieldContainer[Channel]
    statuses: _containers.RepeatedScalarFieldContainer[Status]
    no_surveys: bool
    def __init__(self, name: _Optional[str] = ..., phone: _Optional[str] = ..., email: _Optional[str] = ..., locale: _Optional[str] = ..., time_zone: _Optional[str] = ..., channels: _Optional[_Iterable[_Union[Channel, str]]] = ..., statuses: _Optional[_Iterable[_Union[Status, str]]] = ..., no_surveys: _Optional[bool] = ...) -> None: ...

class Party(_message.Message):
    __slots__ = ("contacts",)
    CONTACTS_FIELD_NUMBER: _ClassVar[int]
    contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    def __init__(self, contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ...) -> None: ...

class ShipmentRegistered(_message.Message):
    __slots__ = ("tracking_id", "sender", "recipient", "courier_id", "delivery_address", "depot", "account_id")
    TRACKING_ID_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    COURIER_ID_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    DEPOT_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    tracking_id: str
    sender: Party
    recipient: Party
    courier_id: str
    delivery_address: str
    depot: str
    account_id: str
    def __init__(self, tracking_id: _Optional[str] = ..., sender: _Optional[_Union[Party, _Mapping]] = ..., recipient: _Optional[_Union[Party, _Mapping]] = ..., courier_id: _Optional[str] = ..., delivery_address: _Optional[str] = ..., depot: _Optional[str] = ..., account_id: _Optional[str] = ...) -> None: ...

class Location(_message.Message):
    __slots__ = ("depot", "city", "country_code")
    DEPOT_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_CODE_FIELD_NUMBER: _ClassVar[int]
    depot: str
    city: str
    country_code: str
    def __init__(self, depot: _Optional[str] = ..., city: _Optional[str] = ..., country_code: _Optional[str] = ...) -> None: ...

class StatusChanged(_message.Message):
    __slots__ = ("status", "courier_id", "failure", "location", "received_by")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    COURIER_ID_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_BY_FIELD_NUMBER: _ClassVar[int]
    status: Status
    courier_id: str
    failure: AttemptFailure
    location: Location
    received_by: str
    def __init__(self, status: _Optional[_Union[Status, str]] = ..., courier_id: _Optional[str] = ..., failure: _Optional[_Union[AttemptFailure, str]] = ..., location: _Optional[_Union[Location, _Mapping]] = ..., received_by: _Optional[str] = ...) -> None: ...

class CourierAssigned(_message.Message):
    __slots__ = ("courier_id",)
    COURIER_ID_FIELD_NUMBER: _ClassVar[int]
    courier_id: str
    def __init__(self, courier_id: _Optional[str] = ...) -> None: ...

class PushSubscribed(_message.Message):
    __slots__ = ("endpoint", "p256dh", "auth", "locale", "time_zone")
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    P256DH_FIELD_NUMBER: _ClassVar[int]
    AUTH_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    endpoint: str
    p256dh: str
    auth: str
    locale: str
    time_zone: str
    def __init__(self, endpoint: _Optional[str] = ..., p256dh: _Optional[str] = ..., auth: _Optional[str] = ..., locale: _Optional[str] = ..., time_zone: _Optional[str] = ...) -> None: ...

class PushUnsubscribed(_message.Message):
    __slots__ = ("endpoint",)
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    endpoint: str
    def __init__(self, endpoint: _Optional[str] = ...) -> None: ...

class ContactsErased(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class NoticeSentAgain(_message.Message):
    __slots__ = ("notification_id", "status_event_id", "channel", "party", "requested_by")
    NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    PARTY_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    notification_id: str
    status_event_id: str
    channel: Channel
    party: int
    requested_by: str
    def __init__(self, notification_id: _Optional[str] = ..., status_event_id: _Optional[str] = ..., channel: _Optional[_Union[Channel, str]] = ..., party: _Optional[int] = ..., requested_by: _Optional[str] = ...) -> None: ...

class ShipmentEvent(_message.Message):
    __slots__ = ("event_id", "shipment_id", "occurred_at", "recorded_at", "source", "registered", "status_changed", "contacts_erased", "courier_assigned", "push_subscribed", "push_unsubscribed", "notice_sent_again")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    SHIPMENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_FIELD_NUMBER: _ClassVar[int]
    STATUS_CHANGED_FIELD_NUMBER: _ClassVar[int]
    CONTACTS_ERASED_FIELD_NUMBER: _ClassVar[int]
    COURIER_ASSIGNED_FIELD_NUMBER: _ClassVar[int]
    PUSH_SUBSCRIBED_FIELD_NUMBER: _ClassVar[int]
    PUSH_UNSUBSCRIBED_FIELD_NUMBER: _ClassVar[int]
    NOTICE_SENT_AGAIN_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    shipment_id: str
    occurred_at: _timestamp_pb2.Timestamp
    recorded_at: _timestamp_pb2.Timestamp
    source: Source
    registered: ShipmentRegistered
    status_changed: StatusChanged
    contacts_erased: ContactsErased
    courier_assigned: CourierAssigned
    push_subscribed: PushSubscribed
    push_unsubscribed: PushUnsubscribed
    notice_sent_again: NoticeSentAgain
    def __init__(self, event_id: _Optional[str] = ..., shipment_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[_Union[Source, str]] = ..., registered: _Optional[_Union[ShipmentRegistered, _Mapping]] = ..., status_changed: _Optional[_Union[StatusChanged, _Mapping]] = ..., contacts_erased: _Optional[_Union[ContactsErased, _Mapping]] = ..., courier_assigned: _Optional[_Union[CourierAssigned, _Mapping]] = ..., push_subscribed: _Optional[_Union[PushSubscribed, _Mapping]] = ..., push_unsubscribed: _Optional[_Union[PushUnsubscribed, _Mapping]] = ..., notice_sent_again: _Optional[_Union[NoticeSentAgain, _Mapping]] = ...) -> None: ...
