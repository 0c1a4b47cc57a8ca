"""The OpenAPI document is valid 3.1, names every route the services serve, and states every
rule a request body is checked against: for hand-made bodies, one or more per rule, and for
bodies generated from the document, the document's verdict (JSON Schema, with the formats it
defines) and the models' verdict agree."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from pydantic import BaseModel, TypeAdapter, ValidationError
from schemathesis import GenerationMode

from shipnotify import web
from shipnotify.config import Settings
from shipnotify.hooks import app as hooks_app
from shipnotify.hooks import page_answers, push
from shipnotify.ingest import app as ingest_app
from shipnotify.ingest.schemas import (
    MAX_TAP_AGE,
    BatchStatusEvent,
    Id,
    RawBatch,
    RegisterShipment,
    StatusEvent,
)
from shipnotify.status_api import app as status_app
from shipnotify.web import case_changes
from tests import api_formats

SETTINGS = Settings(
    api_keys=("k",), courier_token_secret="x" * 32, tracking_id_secret="t", opt_out_secret="o"
)


def document() -> dict[str, Any]:
    app = web.new_app(1024)
    ingest_app.install(app, SETTINGS)
    status_app.install(app, SETTINGS)
    hooks_app.install(app, SETTINGS)
    return web.openapi_of(app)


DOC = document()


def test_document_is_valid_openapi_3_1() -> None:
    assert DOC["openapi"] == "3.1.0"
    validate(DOC)


def test_every_registered_route_is_documented_head_too() -> None:
    app = web.new_app(1024)
    ingest_app.install(app, SETTINGS)
    status_app.install(app, SETTINGS)
    hooks_app.install(app, SETTINGS)
    served = {(r.method, r.resource.canonical) for r in app.router.routes() if r.resource}
    documented = {(m.upper(), p) for p, ops in web.openapi_of(app)["paths"].items() for m in ops}
    assert served == documented
    gets = {p for m, p in served if m == "GET"}
    assert gets == {p for m, p in served if m == "HEAD"}
    assert "/v1/track/{tracking_id}" in gets


def test_a_head_operation_documents_the_get_without_bodies() -> None:
    ops = DOC["paths"]["/v1/track/{tracking_id}"]
    assert ops["head"]["responses"].keys() == ops["get"]["responses"].keys()
    assert ops["get"]["responses"]["200"]["content"]
    assert not any("content" in r for r in ops["head"]["responses"].values())
    assert ops["head"]["operationId"] == "track_head"


def test_request_bodies_and_errors_are_described() -> None:
    op = DOC["paths"]["/v1/shipments/{shipment_id}/events"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/StatusEvent"
    }
    assert {"202", "400", "401", "413", "422", "503"} <= op["responses"].keys()
    assert op["security"] == [{"courierToken": []}, {"apiKey": []}]


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/v1/track/{tracking_id}/events", "get", {"200", "404", "422", "429"}),
        ("/t/{tracking_id}", "get", {"200", "404", "422", "429"}),
        ("/v1/twilio/status", "post", {"204", "400", "403", "413", "422"}),
        ("/v1/twilio/inbound", "post", {"200", "400", "403", "413", "422", "503"}),
        ("/s/static/{name}", "get", {"200", "404"}),
        ("/s/{token}", "get", {"200", "404", "410", "422", "503"}),
        ("/s/{token}", "post", {"200", "400", "403", "404", "410", "413", "422", "503"}),
        (
            "/s/{token}/follow-up",
            "post",
            {"200", "400", "403", "404", "410", "413", "422", "503"},
        ),
        (
            "/v1/answers/{tracking_id}",
            "post",
            {"202", "400", "404", "409", "410", "413", "422", "503"},
        ),
        (
            "/v1/answers/{tracking_id}/follow-up",
            "post",
            {"202", "400", "404", "409", "410", "413", "422", "503"},
        ),
        ("/v1/answers/{tracking_id}", "options", {"204", "403"}),
        ("/v1/cases", "get", {"200", "401", "422", "503"}),
        ("/v1/cases/{case_id}", "get", {"200", "401", "404", "422", "503"}),
        (
            "/v1/cases/{case_id}/close",
            "post",
            {"202", "400", "401", "404", "409", "413", "422", "503"},
        ),
    ],
)
def test_each_route_documents_every_status_it_answers(
    path: str, method: str, statuses: set[str]
) -> None:
    assert DOC["paths"][path][method]["responses"].keys() == statuses


def test_a_checked_path_parameter_is_documented_by_its_type() -> None:
    [param] = DOC["paths"]["/v1/shipments/{shipment_id}/events"]["post"]["parameters"]
    assert param["schema"] == TypeAdapter(Id).json_schema()
    assert param["schema"]["pattern"] == "^[A-Za-z0-9._:-]+$"


# -- the document's verdict and the models'


def _validator(name: str) -> jsonschema_rs.Validator:
    """The document's verdict: its formats asserted, `e164` as it defines it."""
    return api_formats.validator(DOC, {"$ref": f"#/components/schemas/{name}"})


VALIDATORS = {
    name: _validator(name)
    for name in (
        "RegisterShipment",
        "StatusEvent",
        "StatusBatch",
        "PushSubscribe",
        "PageAnswer",
        "PageFollowUp",
        "TakeCase",
        "NoteCase",
        "CloseCase",
    )
}
BATCH_ITEM = _validator("BatchStatusEvent")
CONTEXT = {MAX_TAP_AGE: timedelta(days=SETTINGS.max_tap_age_days)}


def accepted(model: type[BaseModel], body: Any) -> bool:
    """As the handler reads a body: JSON, with the server's settings."""
    try:
        model.model_validate_json(json.dumps(body), context=CONTEXT)
    except ValidationError:
        return False
    return True


def assert_agree(name: str, model: type[BaseModel], body: Any) -> bool:
    in_doc = VALIDATORS[name].is_valid(body)
    assert accepted(model, body) == in_doc, (name, body, in_doc)
    return in_doc


def now(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def registration(**contact: Any) -> dict[str, Any]:
    sender = {"name": "Ana Popescu", "email": "ana@example.com", **contact}
    return {
        "shipment_id": "s-1",
        "sender": {"contacts": [{k: v for k, v in sender.items() if v is not ...}]},
        "recipient": {"contacts": [{"name": "Ion", "phone": "+37369123456"}]},
    }


def tap(**fields: Any) -> dict[str, Any]:
    body = {"event_id": str(uuid.uuid4()), "occurred_at": now(hours=-2), "status": "picked_up"}
    return {k: v for k, v in {**body, **fields}.items() if v is not ...}


NAMES = [
    ("Ana Popescu", True),
    ("Ион Русу", True),  # noqa: RUF001
    ("  Ana  ", True),  # kept, without the outer spaces
    ("مهدی\u200cزاده", True),  # noqa: RUF001  (Persian: ZWNJ inside a word)
    ("👩\u200d🔧 Ana", True),  # emoji joined by ZWJ
    ("", False),
    ("   ", False),
    ("\u200d", False),
    ("Ana\r\nBcc: x@example.com", False),
    ("Ana\nPopescu", False),
    ("Ana\tPopescu", False),
    ("Ana\x00", False),
    ("Ana\x7f", False),
    ("Ana\u0085", False),  # NEL, a C1 control
    ("Ana\u2028Popescu", False),  # line separator
    ("Ana\u2029", False),  # paragraph separator
    ("\u202eanA", False),  # right-to-left override
    ("Ana\u00ad", False),  # soft hyphen (Cf)
    ("Ana\ufeff", False),  # byte order mark (Cf)
    ("Ana\ue000", False),  # private use
    ("Ana\U000e0001", False),  # language tag
    ("Ana\U0010ffff", False),  # a noncharacter, unassigned
    ("A" * 200, True),
    ("A" * 201, False),
]


@pytest.mark.parametrize(("name", "valid"), NAMES)
def test_rule_a_contact_name_is_printable_text(name: str, valid: bool) -> None:
    assert assert_agree("RegisterShipment", RegisterShipment, registration(name=name)) is valid


@pytest.mark.parametrize(("name", "valid"), NAMES[:-2])
@pytest.mark.parametrize("field", ["depot", "city"])
def test_rule_a_location_is_printable_text(field: str, name: str, valid: bool) -> None:
    body = tap(location={field: name})
    assert assert_agree("StatusEvent", StatusEvent, body) is valid


@pytest.mark.parametrize(
    ("phone", "valid"),
    [
        ("+40721234567", True),
        ("+37369123456", True),
        ("+40 721 234 567", False),  # E.164 has no spaces
        ("0721234567", False),
        ("+4072", False),  # the pattern's shape, not a number
        ("+00721234567", False),
        ("+407212345678901234", False),
        ("+40721234567\n", False),
    ],
)
def test_rule_a_phone_is_e164_and_a_valid_number(phone: str, valid: bool) -> None:
    assert assert_agree("RegisterShipment", RegisterShipment, registration(phone=phone)) is valid


@pytest.mark.parametrize(
    ("email", "valid"),
    [
        ("ana@example.com", True),
        ("ana.popescu+shop@mail.example.md", True),
        ("ana@xn--e1afmkfd.xn--p1ai", True),
        ("ana@пример.рф", False),  # the xn-- form is the one accepted
        ("ана@example.com", False),
        ("ana@example", False),
        ("ana@@example.com", False),
        (".ana@example.com", False),
        ("ana..b@example.com", False),
        ("ana@-example.com", False),
        ("ana@example.com\r\nBcc: x@example.com", False),
        ('"ana b"@example.com', False),
        ("a" * 64 + "@example.com", True),
        ("a" * 65 + "@example.com", False),
        ("a@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + "." + "e" * 56 + ".com", True),
        ("ab@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + "." + "e" * 56 + ".com", False),
    ],
)
def test_rule_an_email_is_an_ascii_address(email: str, valid: bool) -> None:
    assert assert_agree("RegisterShipment", RegisterShipment, registration(email=email)) is valid


@pytest.mark.parametrize(
    ("zone", "valid"),
    [("Europe/Chisinau", True), ("UTC", True), ("Mars/Base", False), ("../../etc/passwd", False)],
)
def test_rule_a_time_zone_is_an_iana_name(zone: str, valid: bool) -> None:
    body = registration(time_zone=zone)
    assert assert_agree("RegisterShipment", RegisterShipment, body) is valid


def test_the_time_zones_documented_are_the_ones_accepted() -> None:
    zones = DOC["components"]["schemas"]["Contact"]["properties"]["time_zone"]["enum"]
    assert "Europe/Bucharest" in zones
    assert all(accepted(RegisterShipment, registration(time_zone=z)) for z in zones)


@pytest.mark.parametrize(
    ("contact", "valid"),
    [
        ({"email": "ana@example.com"}, True),
        ({"email": ..., "phone": "+40721234567"}, True),
        ({"email": ..., "phone": None}, False),
        ({"email": None, "phone": "+40721234567"}, True),
        ({"email": None}, False),
        ({"email": ...}, False),
    ],
)
def test_rule_a_contact_has_a_phone_or_an_email(contact: dict[str, Any], valid: bool) -> None:
    body = registration(**contact)
    assert assert_agree("RegisterShipment", RegisterShipment, body) is valid


@pytest.mark.parametrize(
    ("contact", "valid"),
    [
        ({"channels": ["email"]}, True),
        ({"channels": ["sms"]}, False),
        ({"channels": ["sms"], "phone": "+40721234567"}, True),
        ({"channels": ["sms"], "phone": None}, False),
        ({"email": ..., "phone": "+40721234567", "channels": ["email"]}, False),
        ({"email": ..., "phone": "+40721234567", "channels": ["sms", "email"]}, False),
        ({"channels": None}, True),
        ({"channels": []}, True),
        ({"channels": ["fax"]}, False),
    ],
)
def test_rule_a_channel_needs_its_address(contact: dict[str, Any], valid: bool) -> None:
    body = registration(**contact)
    assert assert_agree("RegisterShipment", RegisterShipment, body) is valid


@pytest.mark.parametrize(
    ("fields", "valid"),
    [
        ({"status": "delivery_attempted", "failure": "refused"}, True),
        ({"status": "delivery_attempted"}, False),
        ({"status": "delivery_attempted", "failure": None}, False),
        ({"status": "delivered"}, True),
        ({"status": "delivered", "failure": None}, True),
        ({"status": "delivered", "failure": "refused"}, False),
        ({"status": "delivery_attempted", "failure": "lost"}, False),
    ],
)
def test_rule_a_failure_goes_with_an_attempt_only(fields: dict[str, Any], valid: bool) -> None:
    assert assert_agree("StatusEvent", StatusEvent, tap(**fields)) is valid


@pytest.mark.parametrize(
    ("event_id", "valid"),
    [
        ("0b6ae9c6-1f2e-4c6b-9a53-4f1c2a8d9e10", True),
        ("0B6AE9C6-1F2E-4C6B-9A53-4F1C2A8D9E10", True),
        ("0b6ae9c61f2e4c6b9a534f1c2a8d9e10", False),
        ("{0b6ae9c6-1f2e-4c6b-9a53-4f1c2a8d9e10}", False),
        ("urn:uuid:0b6ae9c6-1f2e-4c6b-9a53-4f1c2a8d9e10", False),
        (42, False),
    ],
)
def test_rule_an_event_id_is_a_hyphenated_uuid(event_id: object, valid: bool) -> None:
    assert assert_agree("StatusEvent", StatusEvent, tap(event_id=event_id)) is valid


def _shape(when: datetime, template: str) -> str:
    return when.strftime(template)


@pytest.mark.parametrize(
    ("template", "valid"),
    [
        ("%Y-%m-%dT%H:%M:%SZ", True),
        ("%Y-%m-%dT%H:%M:%S.%f+03:00", True),
        ("%Y-%m-%dT%H:%M:%S-01:30", True),
        ("%Y-%m-%dT%H:%M:%S", False),  # no offset
        ("%Y-%m-%d %H:%M:%SZ", False),
        ("%Y-%m-%dt%H:%M:%Sz", False),
        ("%Y-%m-%dT%H:%MZ", False),  # no seconds
        ("%Y-%m-%dT%H:%M:%S+0300", False),
        ("%Y-%m-%d", False),
    ],
)
def test_rule_a_tap_time_is_rfc_3339_with_its_offset(template: str, valid: bool) -> None:
    when = datetime.now(UTC) - timedelta(hours=3)
    body = tap(occurred_at=_shape(when, template))
    assert assert_agree("StatusEvent", StatusEvent, body) is valid


def test_rule_a_tap_time_is_not_a_number() -> None:
    body = tap(occurred_at=int(datetime.now(UTC).timestamp()) - 60)
    assert assert_agree("StatusEvent", StatusEvent, body) is False


@pytest.mark.parametrize(
    ("delta", "accepted_"),
    [
        ({"minutes": 4}, True),
        ({"minutes": 6}, False),
        ({"days": -29}, True),
        ({"days": -31}, False),
    ],
)
def test_rule_a_tap_is_neither_from_the_future_nor_too_old(
    delta: dict[str, float], accepted_: bool
) -> None:
    """The one rule JSON Schema cannot state (it depends on the clock): the description does."""
    body = tap(occurred_at=now(**delta))
    assert VALIDATORS["StatusEvent"].is_valid(body)
    assert accepted(StatusEvent, body) is accepted_
    assert accepted(RegisterShipment, {**registration(), "occurred_at": body["occurred_at"]}) is (
        accepted_
    )
    described = DOC["components"]["schemas"]["StatusEvent"]["properties"]["occurred_at"]
    assert "5 minutes ahead" in described["description"]
    assert "SHIPNOTIFY_MAX_TAP_AGE_DAYS" in described["description"]


def test_the_tap_age_limit_comes_from_the_context() -> None:
    body = json.dumps(tap(occurred_at=now(days=-3)))
    StatusEvent.model_validate_json(body, context={MAX_TAP_AGE: timedelta(days=4)})
    with pytest.raises(ValidationError, match="more than 2 days old"):
        StatusEvent.model_validate_json(body, context={MAX_TAP_AGE: timedelta(days=2)})


# -- generated bodies


def _bodies(path: str, mode: GenerationMode) -> st.SearchStrategy[Any]:
    """JSON bodies only: bytes that are no JSON get 400 before any rule is read."""
    operation = schemathesis.openapi.from_dict(DOC)[path]["POST"]
    cases = operation.as_strategy(generation_mode=mode)
    return cases.map(lambda case: case.body).filter(lambda body: isinstance(body, dict | list))


_GENERATED = settings(
    max_examples=80,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    database=None,
)


MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]


def _check_generated(path: str, mode: GenerationMode, check: Callable[[Any], bool]) -> None:
    """Runs `check` (the verdicts agree; it returns the document's) on bodies generated for
    `path`: positive ones mostly valid, negative ones not all, so both verdicts are tried."""
    verdicts: list[bool] = []

    @_GENERATED
    @given(_bodies(path, mode))
    def run(body: Any) -> None:
        verdicts.append(check(body))

    run()
    if mode is GenerationMode.POSITIVE:
        assert sum(verdicts) > len(verdicts) / 2, verdicts
    else:
        assert not all(verdicts), verdicts


@pytest.mark.parametrize("mode", MODES)
def test_generated_registrations_are_accepted_iff_the_document_allows_them(
    mode: GenerationMode,
) -> None:
    _check_generated(
        "/v1/shipments", mode, lambda body: assert_agree("RegisterShipment", RegisterShipment, body)
    )


@pytest.mark.parametrize("mode", MODES)
def test_generated_taps_are_accepted_iff_the_document_allows_them(mode: GenerationMode) -> None:
    _check_generated(
        "/v1/shipments/{shipment_id}/events",
        mode,
        lambda body: assert_agree("StatusEvent", StatusEvent, body),
    )


@pytest.mark.parametrize("mode", MODES)
def test_generated_batches_are_read_as_the_document_says(mode: GenerationMode) -> None:
    """A batch is taken whole iff the document allows it; then each item on its own, accepted
    iff it is a valid BatchStatusEvent."""

    def check(body: Any) -> bool:
        taken = assert_agree("StatusBatch", RawBatch, body)
        for item in body["events"] if taken else []:
            assert accepted(BatchStatusEvent, item) == BATCH_ITEM.is_valid(item), item
        return taken

    _check_generated("/v1/events:batch", mode, check)


@pytest.mark.parametrize("mode", MODES)
def test_generated_push_subscriptions_are_accepted_iff_the_document_allows_them(
    mode: GenerationMode,
) -> None:
    _check_generated(
        "/v1/push-subscriptions",
        mode,
        lambda body: assert_agree("PushSubscribe", push.PushSubscribe, body),
    )


# the survey answers of the tracking page, and the operators' changes of a case
BODIES: list[tuple[str, str, type[BaseModel]]] = [
    ("/v1/answers/{tracking_id}", "PageAnswer", page_answers.PageAnswer),
    ("/v1/answers/{tracking_id}/follow-up", "PageFollowUp", page_answers.PageFollowUp),
    ("/v1/cases/{case_id}/take", "TakeCase", case_changes.TakeCase),
    ("/v1/cases/{case_id}/notes", "NoteCase", case_changes.NoteCase),
    ("/v1/cases/{case_id}/close", "CloseCase", case_changes.CloseCase),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("path", "name", "model"), BODIES)
def test_generated_answers_and_case_changes_are_accepted_iff_the_document_allows_them(
    path: str, name: str, model: type[BaseModel], mode: GenerationMode
) -> None:
    _check_generated(path, mode, lambda body: assert_agree(name, model, body))


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"score": 4, "nonce": "0b6ae9c6-1f2e-4c6b-9a53-4f1c2a8d9e10"}, True),
        ({"score": 4.0, "nonce": "abcdefgh"}, True),  # a JSON integer
        ({"score": 4.5, "nonce": "abcdefgh"}, False),
        ({"score": "4", "nonce": "abcdefgh"}, False),
        ({"score": True, "nonce": "abcdefgh"}, False),
        ({"score": 11, "nonce": "abcdefgh"}, False),
        ({"score": 4, "nonce": "abc"}, False),
        ({"score": 4, "nonce": "abc def gh"}, False),
    ],
)
def test_rule_a_page_answer_is_a_whole_score_and_a_nonce(body: dict[str, Any], valid: bool) -> None:
    assert assert_agree("PageAnswer", page_answers.PageAnswer, body) is valid


@pytest.mark.parametrize(
    ("comment", "valid"),
    [
        ("", True),
        ("Late.\nAnd rude.\tReally.", True),
        ("ă" * 500, True),
        ("x" * 501, False),
        ("bell\x07", False),
        ("nul\x00", False),
        ("c1\x85", False),
    ],
)
def test_rule_a_comment_is_500_characters_of_text(comment: str, valid: bool) -> None:
    body = {"reason": "late", "comment": comment, "nonce": "abcdefgh"}
    assert assert_agree("PageFollowUp", page_answers.PageFollowUp, body) is valid
