"""Property-based tests of every HTTP endpoint against the running stack, generated from the
OpenAPI document: no 5xx, and every response matches the document (status code, content
type, body schema)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shipnotify.devstack.stack import DEV_COURIER_TOKEN_SECRET
from shipnotify.ingest.auth import issue_courier_token

from .conftest import API_KEY

# Semantic checks beyond JSON Schema (valid phone numbers, known time zones, a failure only
# with delivery_attempted) make some schema-valid bodies 422: that is not tested here.
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance,response_headers_conformance"
)


@pytest.mark.timeout(300)
def test_no_endpoint_fails_or_breaks_its_schema(dev: str, tmp_path: Path) -> None:
    token = issue_courier_token(DEV_COURIER_TOKEN_SECRET, "courier-fuzz", 3600)
    schemathesis = Path(sys.executable).parent / "schemathesis"
    done = subprocess.run(
        [
            str(schemathesis),
            "run",
            f"{dev}/openapi.json",
            "-H",
            f"Authorization: Bearer {token}",
            "-H",
            f"X-Api-Key: {API_KEY}",
            "--checks",
            CHECKS,
            "--max-examples",
            "40",
            "--seed",
            "1",
            # a stream never ends; it has its own tests
            "--exclude-path",
            "/v1/track/{tracking_id}/events",
            "--request-timeout",
            "10",
        ],
        cwd=tmp_path,  # its cache stays out of the work tree
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "API Operations" in done.stdout
