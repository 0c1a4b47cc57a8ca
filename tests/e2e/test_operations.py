"""What an operator watches: every service, run as `shipnotify <name>`, serves its health,
readiness and metrics over HTTP, and the metrics count what really happened; a request its
HTTP server refuses before any handler gets JSON and one log line."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from shipnotify.devstack import processes
from tests.chaos.harness import make_load, scrape, stack, total
from tests.raw_http import NUL_IN_A_HEADER, exchange


async def test_every_service_serves_health_and_metrics_that_count_the_work(
    tmp_path: Path,
) -> None:
    parcels = make_load(6, seed=11)
    taps = sum(len(p.taps) for p in parcels)
    expected = set().union(*(p.expected()[2] for p in parcels))
    # at debug: the tracker's line an event (at info it writes one a batch, with its counts)
    async with stack(tmp_path, log_level="debug") as s:
        s.start_all()
        await s.ready()
        await s.drive(parcels, over_s=1)
        await s.settle(parcels)
        ports = {name: s.services.http[proc.pid] for name, (proc,) in s.services.running.items()}
        async with aiohttp.ClientSession() as http:
            for name, port in ports.items():
                async with http.get(f"http://127.0.0.1:{port}/readyz") as resp:
                    body = await resp.json()
                    assert resp.status == 200, (name, body)
                    assert all(body["checks"].values()), (name, body)
            got = {name: await scrape(http, port) for name, port in ports.items()}
        for name, port in ports.items():  # a request aiohttp refuses before any handler
            status, headers, body = await exchange(port, NUL_IN_A_HEADER)
            assert (status.split()[1], headers["content-type"]) == ("400", "application/json")
            assert json.loads(body)["error"] == "bad_request", name
    sent = len(s.sms.messages) + len(s.mail.messages)
    assert sent == len(expected)

    ingest, tracker, notifier = got["ingest"], got["tracker"], got["notifier"]
    assert total(ingest, "shipnotify_events_ingested_total", kind="registered") == len(parcels)
    assert total(ingest, "shipnotify_events_ingested_total", kind="status") == taps

    applied = total(tracker, "shipnotify_events_applied_total")
    assert applied == len(parcels) + taps  # a tap sent twice is applied as a duplicate
    twice = sum(len(p.taps) - len({t["event_id"] for t in p.taps}) for p in parcels)
    assert twice > 0
    assert total(tracker, "shipnotify_events_applied_total", outcome="duplicate") == twice
    # a duplicate re-emits its first delivery's jobs (at most one a party), sent once all the same
    jobs = total(tracker, "shipnotify_notification_jobs_produced_total")
    assert len(expected) <= jobs <= len(expected) + 2 * twice
    lag = {labels: v for (n, labels), v in tracker.items() if n == "shipnotify_consumer_lag"}
    # one series per partition it owns, of each of its two topics
    for topic in (s.settings.events_topic, s.settings.feedback_topic):
        owned = [v for labels, v in lag.items() if ("topic", topic) in labels]
        assert len(owned) == s.settings.kafka_partitions, topic
    assert set(lag.values()) == {0.0}

    assert total(notifier, "shipnotify_notices_total", outcome="sent") == len(expected)
    assert total(notifier, "shipnotify_notices_total", channel="sms", outcome="sent") == len(
        s.sms.messages
    )
    assert total(notifier, "shipnotify_tap_to_notice_seconds_count") == len(expected)
    assert total(notifier, "shipnotify_send_failures_total") == 0
    assert total(notifier, "shipnotify_consumer_lag") == 0
    receipts = total(got["hooks"], "shipnotify_delivery_receipts_total", status="delivered")
    assert receipts == len(s.sms.messages)  # the provider's receipts came back, signed

    # the JSON logs follow one tap from ingest through the tracker to its notices, every line
    # of it in the tap's trace
    tap = parcels[1].taps[0]
    lines = {name: _json_lines(s.services.logs(name)) for name in ("ingest", "tracker", "notifier")}
    traces = set()
    for name in lines:
        mine = [x for x in lines[name] if x.get("event_id") == tap["event_id"]]
        assert mine, f"{name} logged nothing of event {tap['event_id']}"
        assert all(x["shipment_id"] == parcels[1].shipment_id for x in mine)
        assert all(x["service"] == name for x in mine)
        traces |= {x.get("trace_id") for x in mine}
    (trace_id,) = traces
    assert isinstance(trace_id, str), traces
    assert len(trace_id) == 32
    others = {x.get("trace_id") for x in lines["ingest"] if x.get("event_id") != tap["event_id"]}
    assert trace_id not in others  # a trace a tap
    notices = [x for x in lines["notifier"] if x["event"] == "notice sent"]
    assert {x["notification_id"] for x in notices} == expected

    # each service logged the refusal once, as JSON naming itself and the client, and
    # aiohttp's own logger (its line and traceback) said nothing
    for name in ports:
        log = s.services.logs(name)
        refused = [x for x in _json_lines(log) if x["event"] == REFUSED]
        assert [(x["service"], x["client"], x["status"]) for x in refused] == [
            (name, "127.0.0.1", 400)
        ], name
        assert "aiohttp.server" not in log, name


REFUSED = "request refused before any handler"


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


async def test_the_sms_sandbox_command_serves_the_provider_stand_in(tmp_path: Path) -> None:
    """`shipnotify sms_sandbox`, as the compose stack runs it, takes a message from the real
    twilio library and lists it; SIGTERM stops it cleanly."""
    port = processes.free_port()
    sid, token = "AC" + "0" * 32, "compose-token"
    env = {
        **os.environ,
        "SHIPNOTIFY_TWILIO_ACCOUNT_SID": sid,
        "SHIPNOTIFY_TWILIO_AUTH_TOKEN": token,
        "SHIPNOTIFY_HTTP_PORT": str(port),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shipnotify", "sms_sandbox", env=env
    )
    try:
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                try:
                    async with http.get(base + "/_sandbox/messages.json") as resp:
                        assert await resp.json() == {"messages": []}
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            client = Client(sid, token, http_client=AsyncTwilioHttpClient())
            client.api.base_url = base
            sent = await client.messages.create_async(
                to="+40721000001", from_="+15005550006", body="hi"
            )
            await client.http_client.session.close()
            async with http.get(base + "/_sandbox/messages.json") as resp:
                listed = await resp.json()
        assert [m["sid"] for m in listed["messages"]] == [sent.sid]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
