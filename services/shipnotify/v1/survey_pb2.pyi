from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class Scale(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCALE_UNSPECIFIED: _ClassVar[Scale]
    SCALE_CSAT: _ClassVar[Scale]
    SCALE_NPS: _ClassVar[Scale]
    SCALE_CES: _ClassVar[Scale]

class AnswerSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ANSWER_SOURCE_UNSPECIFIED: _ClassVar[AnswerSource]
    ANSWER_SOURCE_SMS: _ClassVar[AnswerSource]
    ANSWER_SOURCE_EMAIL: _ClassVar[AnswerSource]
    ANSWER_SOURCE_PAGE: _ClassVar[AnswerSource]

class Reason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REASON_UNSPECIFIED: _ClassVar[Reason]
    REASON_LATE: _ClassVar[Reason]
    REASON_NOT_INFORMED: _ClassVar[Reason]
    REASON_DAMAGED: _ClassVar[Reason]
    REASON_COURIER_MANNER: _ClassVar[Reason]
    REASON_MISSED_DELIVERY: _ClassVar[Reason]
    REASON_OTHER: _ClassVar[Reason]

class CaseOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CASE_OUTCOME_UNSPECIFIED: _ClassVar[CaseOutcome]
    CASE_OUTCOME_APOLOGISED: _ClassVar[CaseOutcome]
    CASE_OUTCOME_SOLVED: _ClassVar[CaseOutcome]
    CASE_OUTCOME_COMPENSATED: _ClassVar[CaseOutcome]
    CASE_OUTCOME_COULD_NOT_REACH: _ClassVar[CaseOutcome]

class CaseCause(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CASE_CAUSE_UNSPECIFIED: _ClassVar[CaseCause]
    CASE_CAUSE_COURIER: _ClassVar[CaseCause]
    CASE_CAUSE_DEPOT: _ClassVar[CaseCause]
    CASE_CAUSE_TRANSPORT: _ClassVar[CaseCause]
    CASE_CAUSE_ADDRESS: _ClassVar[CaseCause]
    CASE_CAUSE_NOTICES: _ClassVar[CaseCause]
    CASE_CAUSE_CUSTOMER: _ClassVar[CaseCause]
    CASE_CAUSE_OTHER: _ClassVar[CaseCause]
SCALE_UNSPECIFIED: Scale
SCALE_CSAT: Scale
SCALE_NPS: Scale
SCALE_CES: Scale
ANSWER_SOURCE_UNSPECIFIED: AnswerSource
ANSWER_SOURCE_SMS: AnswerSource
ANSWER_SOURCE_EMAIL: AnswerSource
ANSWER_SOURCE_PAGE: AnswerSource
REASON_UNSPECIFIED: Reason
REASON_LATE: Reason
REASON_NOT_INFORMED: Reason
REASON_DAMAGED: Reason
REASON_COURIER_MANNER: Reason
REASON_MISSED_DELIVERY: Reason
REASON_OTHER: Reason
CASE_OUTCOME_UNSPECIFIED: CaseOutcome
CASE_OUTCOME_APOLOGISED: CaseOutcome
CASE_OUTCOME_SOLVED: CaseOutcome
CASE_OUTCOME_COMPENSATED: CaseOutcome
CASE_OUTCOME_COULD_NOT_REACH: CaseOutcome
CASE_CAUSE_UNSPECIFIED: CaseCause
CASE_CAUSE_COURIER: CaseCause
CASE_CAUSE_DEPOT: CaseCause
CASE_CAUSE_TRANSPORT: CaseCause
CASE_CAUSE_ADDRESS: CaseCause
CASE_CAUSE_NOTICES: CaseCause
CASE_CAUSE_CUSTOMER: CaseCause
CASE_CAUSE_OTHER: CaseCause
