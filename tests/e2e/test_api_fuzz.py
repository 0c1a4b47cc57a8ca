"""Property-based tests of every HTTP endpoint against the running stack, generated from the
OpenAPI document: no 5xx, and every response matches the document (status code, content
type, body schema). On the registration and tap routes also: every request the document
allows is accepted, and every one it does not is refused, so a client made from the
document sends valid requests."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

import tests.api_formats
from shipnotify.devstack.stack import DEV_COURIER_TOKEN_SECRET
from shipnotify.web.auth import issue_courier_token
from tests.raw_http import NUL_IN_A_HEADER, exchange

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
            "12",
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


def test_the_dev_app_answers_a_request_it_cannot_parse_with_json(
    dev: str, dev_output: Path
) -> None:
    """`shipnotify dev` serves its single app as every service does (see test_operations)."""
    before = _refusals(dev_output)
    status, headers, body = asyncio.run(exchange(int(dev.rsplit(":", 1)[1]), NUL_IN_A_HEADER))
    assert (status.split()[1], headers["content-type"]) == ("400", "application/json")
    assert json.loads(body)["fields"] == {"request": "Invalid header value char"}
    deadline = time.monotonic() + 10  # the log line is written as the answer goes
    while len(_refusals(dev_output)) == len(before):
        assert time.monotonic() < deadline, "no log line of the refusal"
        time.sleep(0.05)
    [line] = _refusals(dev_output)[len(before) :]
    assert "client=127.0.0.1" in line
    assert "status=400" in line
    assert "aiohttp.server" not in dev_output.read_text()


def _refusals(output: Path) -> list[str]:
    return [x for x in output.read_text().splitlines() if "request refused before any handler" in x]
