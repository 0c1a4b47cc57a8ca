import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from shipnotify.v1 import notifications_pb2 as _notifications_pb2
from shipnotify.v1 import shipment_events_pb2 as _shipment_events_pb2
from shipnotify.v1 import survey_pb2 as _survey_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SurveySent(_message.Message):
    __slots__ = ("survey_id", "party", "channel", "scale", "address", "name", "locale", "time_zone", "notification_id")
    SURVEY_ID_FIELD_NUMBER: _ClassVar[int]
    PARTY_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    survey_id: str
    party: _notifications_pb2.PartyRole
    channel: _shipment_events_pb2.Channel
    scale: _survey_pb2.Scale
    address: str
    name: str
    locale: str
    time_zone: str
    notification_id: str
    def __init__(self, survey_id: _Optional[str] = ..., party: _Optional[_Union[_notifications_pb2.PartyRole, str]] = ..., channel: _Optional[_Union[_shipment_events_pb2.Channel, str]] = ..., scale: _Optional[_Union[_survey_pb2.Scale, str]] = ..., address: _Optional[str] = ..., name: _Optional[str] = ..., locale: _Optional[str] = ..., time_zone: _Optional[str] = ..., notification_id: _Optional[str] = ...) -> None: ...

class SurveyAnswered(_message.Message):
    __slots__ = ("survey_id", "scale", "score", "source", "unhappy")
    SURVEY_ID_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    UNHAPPY_FIELD_NUMBER: _ClassVar[int]
    survey_id: str
    scale: _survey_pb2.Scale
    score: int
    source: _survey_pb2.AnswerSource
    unhappy: bool
    def __init__(self, survey_id: _Optional[str] = ..., scale: _Optional[_Union[_survey_pb2.Scale, str]] = ..., score: _Optional[int] = ..., source: _Optional[_Union[_survey_pb2.AnswerSource, str]] = ..., unhappy: _Optional[bool] = ...) -> None: ...

class FollowUpAnswered(_message.Message):
    __slots__ = ("survey_id", "reason", "comment", "source")
    SURVEY_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    survey_id: str
    reason: _survey_pb2.Reason
    comment: str
    source: _survey_pb2.AnswerSource
    def __init__(self, survey_id: _Optional[str] = ..., reason: _Optional[_Union[_survey_pb2.Reason, str]] = ..., comment: _Optional[str] = ..., source: _Optional[_Union[_survey_pb2.AnswerSource, str]] = ...) -> None: ...

class CaseOpened(_message.Message):
    __slots__ = ("case_id", "survey_id", "due_at", "depot", "courier_id")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    SURVEY_ID_FIELD_NUMBER: _ClassVar[int]
    DUE_AT_FIELD_NUMBER: _ClassVar[int]
    DEPOT_FIELD_NUMBER: _ClassVar[int]
    COURIER_ID_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    survey_id: str
    due_at: _timestamp_pb2.Timestamp
    depot: str
    courier_id: str
    def __init__(self, case_id: _Optional[str] = ..., survey_id: _Optional[str] = ..., due_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., depot: _Optional[str] = ..., courier_id: _Optional[str] = ...) -> None: ...

class CaseTaken(_message.Message):
    __slots__ = ("case_id", "operator")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    operator: str
    def __init__(self, case_id: _Optional[str] = ..., operator: _Optional[str] = ...) -> None: ...

class CaseNoted(_message.Message):
    __slots__ = ("case_id", "operator", "note")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    operator: str
    note: str
    def __init__(self, case_id: _Optional[str] = ..., operator: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class CaseClosed(_message.Message):
    __slots__ = ("case_id", "operator", "outcome", "cause", "note")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    operator: str
    outcome: _survey_pb2.CaseOutcome
    cause: _survey_pb2.CaseCause
    note: str
    def __init__(self, case_id: _Optional[str] = ..., operator: _Optional[str] = ..., outcome: _Optional[_Union[_survey_pb2.CaseOutcome, str]] = ..., cause: _Optional[_Union[_survey_pb2.CaseCause, str]] = ..., note: _Optional[str] = ...) -> None: ...

class FeedbackEvent(_message.Message):
    __slots__ = ("event_id", "shipment_id", "occurred_at", "recorded_at", "survey_sent", "survey_answered", "follow_up_answered", "case_opened", "case_taken", "case_noted", "case_closed", "notice_settled", "notice_receipt")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    SHIPMENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    SURVEY_SENT_FIELD_NUMBER: _ClassVar[int]
    SURVEY_ANSWERED_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_UP_ANSWERED_FIELD_NUMBER: _ClassVar[int]
    CASE_OPENED_FIELD_NUMBER: _ClassVar[int]
    CASE_TAKEN_FIELD_NUMBER: _ClassVar[int]
    CASE_NOTED_FIELD_NUMBER: _ClassVar[int]
    CASE_CLOSED_FIELD_NUMBER: _ClassVar[int]
    NOTICE_SETTLED_FIELD_NUMBER: _ClassVar[int]
    NOTICE_RECEIPT_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    shipment_id: str
    occurred_at: _timestamp_pb2.Timestamp
    recorded_at: _timestamp_pb2.Timestamp
    survey_sent: SurveySent
    survey_answered: SurveyAnswered
    follow_up_answered: FollowUpAnswered
    case_opened: CaseOpened
    case_taken: CaseTaken
    case_noted: CaseNoted
    case_closed: CaseClosed
    notice_settled: NoticeSettled
    notice_receipt: NoticeReceipt
    def __init__(self, event_id: _Optional[str] = ..., shipment_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., survey_sent: _Optional[_Union[SurveySent, _Mapping]] = ..., survey_answered: _Optional[_Union[SurveyAnswered, _Mapping]] = ..., follow_up_answered: _Optional[_Union[FollowUpAnswered, _Mapping]] = ..., case_opened: _Optional[_Union[CaseOpened, _Mapping]] = ..., case_taken: _Optional[_Union[CaseTaken, _Mapping]] = ..., case_noted: _Optional[_Union[CaseNoted, _Mapping]] = ..., case_closed: _Optional[_Union[CaseClosed, _Mapping]] = ..., notice_settled: _Optional[_Union[NoticeSettled, _Mapping]] = ..., notice_receipt: _Optional[_Union[NoticeReceipt, _Mapping]] = ...) -> None: ...

class NoticeSettled(_message.Message):
    __slots__ = ("notification_id", "channel", "sent", "planned_at", "tap_to_notice_ms", "account_id")
    NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    SENT_FIELD_NUMBER: _ClassVar[int]
    PLANNED_AT_FIELD_NUMBER: _ClassVar[int]
    TAP_TO_NOTICE_MS_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    notification_id: str
    channel: _shipment_events_pb2.Channel
    sent: bool
    planned_at: _timestamp_pb2.Timestamp
    tap_to_notice_ms: int
    account_id: str
    def __init__(self, notification_id: _Optional[str] = ..., channel: _Optional[_Union[_shipment_events_pb2.Channel, str]] = ..., sent: _Optional[bool] = ..., planned_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., tap_to_notice_ms: _Optional[int] = ..., account_id: _Optional[str] = ...) -> None: ...

class NoticeReceipt(_message.Message):
    __slots__ = ("notification_id", "planned_at", "delivered")
    NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    PLANNED_AT_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_FIELD_NUMBER: _ClassVar[int]
    notification_id: str
    planned_at: _timestamp_pb2.Timestamp
    delivered: bool
    def __init__(self, notification_id: _Optional[str] = ..., planned_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., delivered: _Optional[bool] = ...) -> None: ...
