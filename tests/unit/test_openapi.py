"""The OpenAPI document is valid 3.1 and names every route the services serve."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate

from shipnotify import web
from shipnotify.config import Settings
from shipnotify.ingest import app as ingest_app
from shipnotify.status_api import app as status_app

SETTINGS = Settings(
    api_keys=("k",), courier_token_secret="x" * 32, tracking_id_secret="t", opt_out_secret="o"
)


def document() -> dict[str, Any]:
    app = web.new_app(1024)
    ingest_app.install(app, SETTINGS)
    status_app.install(app, SETTINGS)
    return web.openapi_of(app)


def test_document_is_valid_openapi_3_1() -> None:
    doc = document()
    assert doc["openapi"] == "3.1.0"
    validate(doc)


def test_every_registered_route_is_documented() -> None:
    app = web.new_app(1024)
    ingest_app.install(app, SETTINGS)
    status_app.install(app, SETTINGS)
    served = {
        (r.method, r.resource.canonical)
        for r in app.router.routes()
        if r.resource is not None and r.method != "HEAD"
    }
    doc = web.openapi_of(app)
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert served == documented


def test_request_bodies_and_errors_are_described() -> None:
    op = document()["paths"]["/v1/shipments/{shipment_id}/events"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/StatusEvent"
    }
    assert {"202", "400", "401", "413", "422", "503"} <= op["responses"].keys()
    assert op["security"] == [{"courierToken": []}, {"apiKey": []}]
