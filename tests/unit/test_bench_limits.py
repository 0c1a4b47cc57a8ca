"""The benchmark's limits worked out from what a run measured (bench/limits.py): Redis's cost
of an event from its statistics, whether a level of taps kept up, and the saturation search;
and the provider clients' sends made from what the sandboxes received (bench/providers.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shipnotify.bench import limits, providers
from shipnotify.bench.limits import Level, RateSearch
from shipnotify.bench.providers import Clients
from shipnotify.devstack.mail_sandbox import ReceivedMail
from shipnotify.devstack.sms_sandbox import SmsMessage
from shipnotify.devstack.webhook_sandbox import ReceivedWebhook


def stats(**commands: tuple[int, int]) -> dict[str, dict[str, int]]:
    """INFO commandstats as redis-py parses it: command -> calls and microseconds."""
    return {
        f"cmdstat_{name}": {"calls": c, "usec": u, "rejected_calls": 0}
        for name, (c, u) in commands.items()
    }


def cpu(user: float, sys: float) -> dict[str, float]:
    return {"used_cpu_user_main_thread": user, "used_cpu_sys_main_thread": sys}


def test_the_scripts_cost_is_evalshas_time_between_the_readings_per_event() -> None:
    before = stats(evalsha=(10, 5_000), hset=(100, 900), ping=(3, 3))
    # 4 script calls took 60,000 us, their HSETs (counted again under their own name) among it
    after = stats(evalsha=(14, 65_000), hset=(2_100, 10_900), ping=(3, 3), set=(500, 1_000))
    cost = limits.redis_cost(before, after, cpu(1.0, 0.5), cpu(1.2, 0.6), events=2_000)
    assert cost.script_calls == 4
    assert cost.script_usec == 60_000
    assert cost.script_usec_per_event == 30.0
    assert cost.limit == pytest.approx(1e6 / 30)
    assert cost.cpu_usec_per_event == pytest.approx(300_000 / 2_000)  # 0.3 s of the main thread
    assert cost.cpu_limit == pytest.approx(1e6 / 150)
    # every command that ran, and only those, with what it took between the readings
    assert cost.commands == {
        "evalsha": {"calls": 4, "usec": 60_000},
        "hset": {"calls": 2_000, "usec": 10_000},
        "set": {"calls": 500, "usec": 1_000},
    }


def test_without_the_main_threads_cpu_the_whole_servers_is_taken() -> None:
    before, after = (
        {"used_cpu_user": 1.0, "used_cpu_sys": 0.0},
        {"used_cpu_user": 1.1, "used_cpu_sys": 0.1},
    )
    cost = limits.redis_cost(stats(), stats(), before, after, events=1_000)
    assert cost.cpu_usec_per_event == pytest.approx(200)


def test_no_script_call_is_no_cost_and_no_limit() -> None:
    cost = limits.redis_cost(stats(), stats(get=(5, 10)), cpu(0, 0), cpu(0, 0), events=0)
    assert (cost.script_usec_per_event, cost.limit, cost.cpu_limit) == (0.0, 0.0, 0.0)


def test_the_slope_is_the_backlogs_growth_a_second() -> None:
    assert limits.slope([(t / 10, 50 * t / 10 + 7) for t in range(30)]) == pytest.approx(50)
    assert limits.slope([(0.0, 5.0)]) == 0.0
    assert limits.slope([(1.0, 5.0), (1.0, 9.0)]) == 0.0


def level(rate: float, growth: float, *, accepted: float | None = None, start: float = 0) -> Level:
    """A level of 4 s whose backlog fills to `start` notices in its first second, then
    grows by `growth` a second."""
    samples = [
        (t / 10, start * t / 10 if t < 10 else start + growth * (t - 10) / 10) for t in range(41)
    ]
    return Level(rate, rate if accepted is None else accepted, rate, samples)


def test_a_backlog_that_holds_is_flat_and_one_that_grows_is_not() -> None:
    # the pipeline filling with the notices it holds in flight, then holding them
    assert limits.flat(level(400, 0, start=120))
    assert limits.growth(level(400, 0, start=120)) == pytest.approx(0)
    assert limits.flat(level(400, 30))  # under a tenth of the 400 notices a second
    assert not limits.flat(level(400, 60))
    # what an earlier level left draining
    drain = [(t / 10, 900 - 200 * t / 10) for t in range(41)]
    assert limits.flat(Level(400, 400, 400, drain))


def test_a_level_ingest_did_not_take_at_its_rate_is_not_flat() -> None:
    assert not limits.flat(level(400, 0, accepted=300))
    assert limits.flat(level(400, 0, accepted=390))
    assert not limits.flat(Level(400, 400, 400, []))


def search_with(capacity: float, first: float, **kw: float) -> RateSearch:
    search = RateSearch(first, **kw)
    while (rate := search.next()) is not None:
        search.saw(rate, rate <= capacity)
    return search


def test_the_search_doubles_then_bisects_to_the_highest_flat_rate() -> None:
    search = search_with(1_000, 100)
    assert [r for r, _ in search.tried][:5] == [100, 200, 400, 800, 1_600]
    assert [flat for _, flat in search.tried][:5] == [True, True, True, True, False]
    assert 1_000 / 1.1 <= search.best <= 1_000
    assert search.steep is not None
    assert search.steep <= search.best * 1.1


def test_the_search_halves_when_the_first_rate_is_too_high() -> None:
    search = search_with(70, 500)
    assert [r for r, _ in search.tried][:4] == [500, 250, 125, 62.5]
    assert 70 / 1.1 <= search.best <= 70


def test_when_nothing_is_flat_the_best_is_below_every_rate_tried() -> None:
    search = search_with(0, 40, floor=5)
    assert [r for r, _ in search.tried] == [40, 20, 10, 5]
    assert search.next() is None
    assert search.best == 2.5


def test_the_caller_may_stop_the_search_early() -> None:
    search = RateSearch(100)
    assert search.best == 0.0
    search.saw(100, True)
    assert search.next() == 200
    assert search.best == 100


# -- the provider clients' sends, from what the sandboxes received -------------------------


def test_the_clients_send_what_the_sandboxes_received_in_the_order_it_came(
    tmp_path: Path,
) -> None:
    at = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    sms = SmsMessage(
        sid="SM1",
        account_sid="AC1",
        to="+40720000001",
        from_="+15005550006",
        body="Your parcel is out for delivery",
        status="delivered",
        created_at=at + timedelta(seconds=2),
        history=(),
        status_callback="http://127.0.0.1:1/v1/twilio/status?s=s1&p=1&n=n1",
    )
    raw = "Subject: Livr\u00e9\r\n\r\nbody\r\n".encode()
    mail = ReceivedMail("notices@carrier.example", ("party@example.com",), raw, at)
    hook = ReceivedWebhook(
        endpoint="ep_1",
        webhook_id="msg_1",
        type="shipment.status_changed",
        verified=True,
        reason="",
        payload={},
        body='{"type": "shipment.status_changed"}',
        received_at=at + timedelta(seconds=1),
        answered=204,
    )
    clients = Clients(
        "AC1", "token", "+15005550006", "http://127.0.0.1:2", "127.0.0.1", 25, 10, 15, 32, 4
    )
    sends = providers.plan(
        clients,
        sms=[sms],
        mail=[mail],
        webhooks=[hook],
        urls={"ep_1": "http://127.0.0.1:3/webhooks/ep_1"},
        secrets={"ep_1": "whsec_c2VjcmV0"},
    )
    assert [s["channel"] for s in sends.sends] == ["email", "webhook", "sms"]
    email, webhook, text = sends.sends
    assert email == {
        "channel": "email",
        "from": "notices@carrier.example",
        "to": ["party@example.com"],
        "raw": raw.decode("latin-1"),
    }
    assert webhook["url"] == "http://127.0.0.1:3/webhooks/ep_1"
    assert (webhook["id"], webhook["secret"], webhook["body"]) == (
        "msg_1",
        "whsec_c2VjcmV0",
        hook.body,
    )
    assert text == {
        "channel": "sms",
        "to": sms.to,
        "body": sms.body,
        "callback": sms.status_callback,
    }
    # as the clients' process reads it: the email's bytes as they came
    sends.write(tmp_path / "plan.json")
    read = providers.Plan.read(tmp_path / "plan.json")
    assert read == sends
    assert read.sends[0]["raw"].encode("latin-1") == raw
    assert read.count() == {"sms": 1, "email": 1, "webhook": 1}
