"""`shipnotify bench --smoke`: the benchmark completes and reports every figure. Its figures
are not checked against targets here (CI machines differ); `make bench` does that."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

FIGURES = {
    "redis, pipelined (1000 a trip)",
    "redis, one command a trip",
    "aiokafka consume, events topic",
    "redis, tracker's scripts per event",
    "redis main thread per event",
    "one-Redis limit",
    "tracker, one process",
    "tracker / one-Redis limit",
    "tracker CPU per event",
    "notices sent",
    "provider clients alone",
    "notifier, one process",
    "notifier / provider clients alone",
    "notifier CPU per notice",
    "webhook client alone",
    "webhooks per second per process",
    "webhook lane / webhook client alone",
    "notifier CPU per webhook",
    "surveys sent a second",
    "answers a second",
    "saturation, taps through ingest",
    "kafka produce to consume, p99",
    "tap to SMS, p50",
    "tap to SMS, p99",
    "tap to SMS, tracker's hop, p50",
    "tap to SMS, tracker's hop, p99",
    "tap to SMS, notifier's hop, p50",
    "tap to SMS, notifier's hop, p99",
    "tap to SMS, ingest's answer, p99",
    "the bench's own event loop, late, p99",
    "cores busy during tap to SMS",
    "bare aiohttp handler, 304",
    "status API, 304 (ETag matches)",
    "status API / bare, 304",
    "console overview, a year",
    "console satisfaction page (heatmap, cuts, pain map, trend), a year",
    "console failed notices, newest",
    "console failed notices, the deepest page",
    "console failed notices, one account's",
    "console a shipment's notices",
    "console webhook endpoints",
    "console an endpoint's delivery log",
    "console an endpoint's delivery log, older",
    "console shipments, newest",
    "console shipments, one account's delivered in a month",
    "ingest, peak RSS",
    "status_api, peak RSS",
    "hooks, peak RSS",
    "tracker, peak RSS",
    "notifier, peak RSS",
    "redis per delivered shipment",
}


@pytest.mark.e2e
@pytest.mark.timeout(300)
def test_the_benchmark_completes_and_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, "-m", "shipnotify", "bench", "--smoke", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "status API / bare, 304" in run.stdout  # the table
    doc = json.loads(out.read_text())
    figures = {f["name"]: f for f in doc["figures"]}
    assert set(figures) >= FIGURES, FIGURES - set(figures)
    counted = {n: f for n, f in figures.items() if n != "SMS later than 60 s"}
    assert all(f["value"] > 0 for f in counted.values()), figures
    assert all(f["met"] in (True, False) for f in figures.values() if f["target"])
    # a status SMS beside each email, and the 100 surveys by SMS
    assert doc["details"]["sent"]["sms"] == doc["details"]["sent"]["email"] + 100 > 100
    assert figures["notices sent"]["value"] == 600  # 100 shipments, 6 notices each, once
    assert "webhooks per second per process" in run.stdout
    assert figures["webhooks per second per process"]["value"] > 0
    assert doc["details"]["webhooks"] == {"received": 200, "verified": 200}  # each once, signed
    # the clients alone sent every notice and webhook again, and nothing failed
    assert doc["details"]["provider_clients"]["sent"] == {"sms": 300, "email": 300}
    assert doc["details"]["webhook_client"]["sent"] == {"webhook": 200}
    assert doc["details"]["provider_clients"]["cpu_s"] > 0  # beside the notifier's CPU
    assert doc["details"]["saturation"]["levels"]
    assert doc["details"]["saturation"]["left"] == 0  # every notice of the search arrived
    latency = doc["details"]["latency_ms"]  # each SMS's hops found from its records
    assert latency["hops"]["samples"] == latency["samples"] > 0
    assert "cores" in doc["machine"]
    # every survey answered by its phone and the answers in Redis (a sample of them)
    assert doc["details"]["surveys"]["refused"] == 0
    recorded, sampled = doc["details"]["surveys"]["answered_sample"]
    assert recorded == sampled == 50
