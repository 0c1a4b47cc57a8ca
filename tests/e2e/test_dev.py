"""`shipnotify dev` from the outside: it comes up, the demo's tracking URL shows a timeline,
and Ctrl-C leaves no process behind (the broker's JVM included)."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shipnotify.devstack.processes import free_port
from tests import jvms


def get(url: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (loopback only)
    with urllib.request.urlopen(request, timeout=5) as resp:  # noqa: S310
        body: dict[str, Any] = json.load(resp)
        return body


def listening(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), 0.5):
            return True
    except OSError:
        return False


@pytest.mark.timeout(120)
def test_dev_runs_the_demo_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    out = tmp_path / "dev.out"
    with out.open("wb") as sink:
        dev = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shipnotify",
                "dev",
                "--http-port",
                str(port),
                "--demo-pace",
                "0.05",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        urls: list[str] = []
        while len(urls) < 3:
            assert dev.poll() is None, out.read_text()
            assert time.monotonic() < deadline, out.read_text()
            urls = re.findall(r"demo shipment \S+(?: \(.*\))?: (http://\S+)", out.read_text())
            time.sleep(0.2)
        assert all(u.startswith(f"http://127.0.0.1:{port}/t/") for u in urls)

        body: dict[str, Any] = {"timeline": []}
        statuses: list[str] = []
        # delivered, then the late tap: the demo uploads it after its last step
        while body.get("status") != "delivered" or "in_transit" not in statuses:
            assert time.monotonic() < deadline, body
            with contextlib.suppress(OSError):  # 404 until the registration is applied
                body = get(urls[0].replace("/t/", "/v1/track/"))
            statuses = [e["status"] for e in body.get("timeline", [])]
            time.sleep(0.2)
        assert statuses[0] == "registered"
        assert "in_transit" in statuses  # the late tap: kept in the timeline...
        assert body["status"] == "delivered"  # ...without a step back
        assert get(f"http://127.0.0.1:{port}/readyz")["status"] == "ok"
        outbox: dict[str, Any] = {}
        while not (outbox.get("sms") and outbox.get("email")):  # the demo's notices
            assert time.monotonic() < deadline, outbox
            outbox = get(f"http://127.0.0.1:{port}/outbox.json")
            time.sleep(0.2)
        assert any("/t/" in m["body"] for m in outbox["sms"])
        assert isinstance(outbox["push"], list)  # the push sandbox's messages are listed
        text = out.read_text()
        assert re.search(r"API key\s+\S+", text)
        kafka = re.search(r"Kafka\s+(127\.0\.0\.1:\d+)", text)
        redis = re.search(r"Redis\s+redis://(127\.0\.0\.1:\d+)", text)
        push = re.search(r"push\s+http://(127\.0\.0\.1:\d+)", text)
        assert kafka
        assert redis
        assert push
        # the courier app's sign-in link, and the run the demo gave its courier
        link = re.search(r"courier app (http://\S+/courier/#token=(\S+))", text)
        assert link
        assert link[1].startswith(f"http://127.0.0.1:{port}/courier/")
        run = get(
            f"http://127.0.0.1:{port}/v1/courier/shipments", {"Authorization": f"Bearer {link[2]}"}
        )
        assert len(run["shipments"]) == 3
        assert all(s["recipient"]["address"] for s in run["shipments"])
        with urllib.request.urlopen(link[1], timeout=10) as resp:  # noqa: S310 (loopback)
            assert resp.headers["Content-Type"] == "text/html; charset=utf-8"  # the app's page
        assert listening(kafka[1])
        assert listening(redis[1])
        assert listening(push[1])
        broker_jvms = jvms.children_of(dev.pid)
        assert len(broker_jvms) == 1, jvms.java_processes()
    finally:
        dev.send_signal(signal.SIGINT)  # Ctrl-C
        code = dev.wait(30)
    assert code == 0, out.read_text()
    assert "stopped" in out.read_text()
    for address in (kafka[1], redis[1], push[1], f"127.0.0.1:{port}"):
        assert not listening(address), f"{address} still open after Ctrl-C"
    assert broker_jvms.isdisjoint(jvms.java_processes()), "the broker's JVM outlived Ctrl-C"


def test_dev_reports_a_busy_port(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "shipnotify", "dev", "--http-port", str(port), "--no-demo"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


def test_token_command_prints_a_courier_token() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "shipnotify", "token", "courier", "courier-7"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    from shipnotify.devstack.stack import DEV_COURIER_TOKEN_SECRET
    from shipnotify.web.auth import courier_id_from

    token = done.stdout.strip()
    assert courier_id_from(f"Bearer {token}", DEV_COURIER_TOKEN_SECRET) == "courier-7"
    assert "dev secret" in done.stderr


def test_a_service_without_its_secrets_says_which_are_missing() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "shipnotify", "ingest"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2
    assert "SHIPNOTIFY_API_KEYS" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_short_courier_secret_is_refused() -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "SHIPNOTIFY_API_KEYS": "k",
        "SHIPNOTIFY_COURIER_TOKEN_SECRET": "short",
        "SHIPNOTIFY_TRACKING_ID_SECRET": "t",
    }
    done = subprocess.run(
        [sys.executable, "-m", "shipnotify", "ingest"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env=env,
    )
    assert done.returncode == 2
    assert "at least 32 bytes" in done.stderr


def test_a_consumer_service_waits_for_kafka_and_stops_cleanly(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "SHIPNOTIFY_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",
        "SHIPNOTIFY_OPT_OUT_SECRET": "test-opt-out-secret",  # the tracker's one secret
    }
    out = tmp_path / "tracker.out"
    with out.open("wb") as sink:
        tracker = subprocess.Popen(
            [sys.executable, "-m", "shipnotify", "tracker"],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 20
        while "kafka not reachable, retrying" not in out.read_text():
            assert tracker.poll() is None, out.read_text()
            assert time.monotonic() < deadline, out.read_text()
            time.sleep(0.1)
    finally:
        tracker.send_signal(signal.SIGTERM)
        code = tracker.wait(20)
    assert code == 0
    assert "Traceback" not in out.read_text()


def post(url: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 (loopback only)
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
        return resp.status, json.load(resp)


def _webhooks_until(
    base: str, deadline: float, done: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """The webhooks the outbox lists, oldest first, once `done` says so."""
    while True:
        received = list(reversed(get(f"{base}/outbox.json")["webhooks"]))
        if done(received):
            return received
        assert time.monotonic() < deadline, received
        time.sleep(0.25)


@pytest.mark.timeout(180)
def test_the_demo_accounts_signed_webhooks_arrive_verified_and_a_replay_sends_them_again(
    tmp_path: Path,
) -> None:
    """The issue's "done when": `shipnotify dev`, and the demo account's webhooks arrive at
    the sandbox verified; a replay from the API delivers them again with the same ids."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    out = tmp_path / "dev.out"
    started = datetime.now(UTC)
    command = ["dev", "--http-port", str(port), "--demo-pace", "0.05"]
    with out.open("wb") as sink:
        dev = subprocess.Popen(
            [sys.executable, "-m", "shipnotify", *command],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while len(re.findall(r"demo shipment ", out.read_text())) < 3:
            assert dev.poll() is None, out.read_text()
            assert time.monotonic() < deadline, out.read_text()
            time.sleep(0.2)
        text = out.read_text()
        account = re.search(r"demo account (acct_\w+) \(Demo Shop\): its key (\S+)", text)
        endpoint = re.search(r"its webhook endpoint (ep_\w+): (http://\S+)", text)
        assert account, text
        assert endpoint, text
        owned = re.findall(r"demo shipment (\S+) \(Demo Shop's\)", text)
        carriers = re.findall(r"demo shipment (\S+): http", text)
        assert len(owned) == 2, text
        first = owned[0]
        walked = {"registered", "confirmed", "picked_up", "out_for_delivery", "delivered"}

        def statuses(received: list[dict[str, Any]], shipment_id: str) -> set[str]:
            return {
                r["payload"]["data"]["status"]
                for r in received
                if r["shipment_id"] == shipment_id and r["type"] == "shipment.status_changed"
            }

        received = _webhooks_until(base, deadline, lambda got: statuses(got, first) >= walked)
        assert all(r["verified"] for r in received), [r["reason"] for r in received]
        assert all(r["answered"] == 204 for r in received)
        assert {r["endpoint"] for r in received} == {"demo-shop"}
        assert endpoint[2].endswith("/webhooks/demo-shop")
        assert not {r["shipment_id"] for r in received} & set(carriers)  # not the account's
        assert statuses(received, first) == walked  # the late in_transit moved nothing
        before = Counter(r["webhook_id"] for r in received)

        status, _ = post(
            f"{base}/v1/accounts/{account[1]}/webhooks/{endpoint[1]}/replay",
            {"since": started.isoformat()},
            {"X-Api-Key": account[2]},
        )
        assert status == 202

        again = _webhooks_until(
            base,
            deadline,
            lambda got: all(
                Counter(r["webhook_id"] for r in got)[i] > n for i, n in before.items()
            ),
        )
        replayed = again[len(received) :]
        assert all(r["verified"] for r in replayed), [r["reason"] for r in replayed]
        # the same messages: their ids, and their bytes (the payload, its timestamp too)
        first_payload = {r["webhook_id"]: r["payload"] for r in received}
        for r in replayed:
            if r["webhook_id"] in first_payload:
                assert r["payload"] == first_payload[r["webhook_id"]]
    finally:
        dev.send_signal(signal.SIGINT)
        code = dev.wait(30)
    assert code == 0, out.read_text()
