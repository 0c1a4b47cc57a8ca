"""Property-based tests of every HTTP endpoint against the running stack, generated from the
OpenAPI document: no 5xx, and every response matches the document (status code, content
type, body schema). On the registration and tap routes also: every request the document
allows is accepted, and every one it does not is refused, so a client made from the
document sends valid requests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import tests.api_formats
from shipnotify.devstack.stack import DEV_COURIER_TOKEN_SECRET
from shipnotify.ingest.auth import issue_courier_token

from .conftest import API_KEY

# On every route. The formats the document defines (and the tap times' window) are drawn by
# tests/api_formats.py, schemathesis's hooks.
CONFIG = """
[checks]
enabled = false
not_a_server_error.enabled = true
status_code_conformance.enabled = true
content_type_conformance.enabled = true
response_schema_conformance.enabled = true
response_headers_conformance.enabled = true

[[operations]]
include-tag = "ingest"
checks.positive_data_acceptance.enabled = true
checks.negative_data_rejection.enabled = true
"""


@pytest.mark.timeout(400)
def test_no_endpoint_fails_or_breaks_its_schema(dev: str, tmp_path: Path) -> None:
    token = issue_courier_token(DEV_COURIER_TOKEN_SECRET, "courier-fuzz", 3600)
    schemathesis = Path(sys.executable).parent / "schemathesis"
    (tmp_path / "schemathesis.toml").write_text(CONFIG)
    done = subprocess.run(
        [
            str(schemathesis),
            "run",
            f"{dev}/openapi.json",
            "-H",
            f"Authorization: Bearer {token}",
            "-H",
            f"X-Api-Key: {API_KEY}",
            "--max-examples",
            "40",
            "--seed",
            "1",
            # a stream never ends; it has its own tests
            "--exclude-path",
            "/v1/track/{tracking_id}/events",
            "--request-timeout",
            "10",
            "--report",
            "ndjson",
            "--report-ndjson-path",
            "events.ndjson",
        ],
        cwd=tmp_path,  # its config, and its cache out of the work tree
        env={**os.environ, "SCHEMATHESIS_HOOKS": tests.api_formats.__file__},
        capture_output=True,
        text=True,
        timeout=380,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]
    assert "API Operations" in done.stdout
    # the checks ran: the run's events name each check with every result
    ran = Counter(re.findall(r'"name": ?"([a-z_]+)"', (tmp_path / "events.ndjson").read_text()))
    for check in ("not_a_server_error", "positive_data_acceptance", "negative_data_rejection"):
        assert ran[check] > 100, ran
