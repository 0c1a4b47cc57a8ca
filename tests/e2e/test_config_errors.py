"""A bad setting, from the outside: each service exits 2 at once with one line on stderr that
names the variable and what is wrong, and no traceback."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import urllib.request

import pytest

from shipnotify.devstack.processes import free_port

SERVICES = ["ingest", "tracker", "notifier", "status_api", "hooks"]
BAD = [  # each once a traceback, a bind error or a failure deep inside a service
    ("SHIPNOTIFY_HTTP_PORT", "70000"),
    ("SHIPNOTIFY_QUIET_HOURS", "25:00-08:00"),
    ("SHIPNOTIFY_LOG_LEVEL", "loud"),
    ("SHIPNOTIFY_SEND_TIMEOUT_S", "-1"),
]


def _run(command: str, **bad: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        # everything a service needs but the bad value, so that nothing else stops it first
        "SHIPNOTIFY_API_KEYS": "k",
        "SHIPNOTIFY_COURIER_TOKEN_SECRET": "c" * 32,
        "SHIPNOTIFY_TRACKING_ID_SECRET": "t",
        "SHIPNOTIFY_TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "SHIPNOTIFY_TWILIO_AUTH_TOKEN": "token",
        "SHIPNOTIFY_TWILIO_FROM": "+15005550006",
        "SHIPNOTIFY_HTTP_PORT": str(free_port()),
        "SHIPNOTIFY_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",  # none: nothing to reach
        "SHIPNOTIFY_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        **bad,
    }
    return subprocess.run(
        [sys.executable, "-m", "shipnotify", command],
        capture_output=True,
        text=True,
        timeout=20,  # a service that started would run until stopped
        check=False,
        env=env,
    )


@pytest.mark.parametrize("command", SERVICES)
@pytest.mark.parametrize(("variable", "value"), BAD)
def test_a_bad_value_stops_the_service_with_one_line(
    command: str, variable: str, value: str
) -> None:
    done = _run(command, **{variable: value})
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"shipnotify {command}: configuration error: {variable}={value!r}: ")
    assert done.stdout == ""


def test_every_bad_value_is_on_the_one_line_and_no_secret() -> None:
    done = _run(
        "ingest",
        SHIPNOTIFY_HTTP_PORT="0",
        SHIPNOTIFY_TRUSTED_PROXIES="10.0.0.1/8",
        SHIPNOTIFY_COURIER_TOKEN_SECRET="too-short-to-sign",
    )
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("shipnotify ingest: configuration error: ")
    assert line.count("; ") == 2
    assert "SHIPNOTIFY_HTTP_PORT='0'" in line
    assert "SHIPNOTIFY_TRUSTED_PROXIES='10.0.0.1/8': 10.0.0.1/8 has host bits set" in line
    assert "SHIPNOTIFY_COURIER_TOKEN_SECRET (a secret, not shown)" in line
    assert "too-short-to-sign" not in done.stderr


@pytest.mark.parametrize("command", ["hooks", "tracker", "rebuild"])
def test_a_service_that_keeps_hashed_numbers_refuses_to_start_without_the_secret(
    command: str,
) -> None:
    done = _run(command)  # no SHIPNOTIFY_OPT_OUT_SECRET
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"shipnotify {command}: configuration error: ")
    assert "SHIPNOTIFY_OPT_OUT_SECRET" in line


def test_status_api_starts_with_no_secret_at_all() -> None:
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "SHIPNOTIFY_HTTP_PORT": str(port),
        "SHIPNOTIFY_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
    }
    with subprocess.Popen(
        [sys.executable, "-m", "shipnotify", "status_api"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as served:
        try:
            assert _answers(f"http://127.0.0.1:{port}/healthz", served), served.stderr
        finally:
            served.terminate()
            served.wait(timeout=30)


def _answers(url: str, process: subprocess.Popen[str]) -> bool:
    """Whether `url` answers 200 before `process` exits (a refused setting exits it)."""
    while process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:  # noqa: S310 (http only)
                return bool(resp.status == 200)
        except OSError:  # not listening yet: look again once it has had a moment, or exited
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.1)
    return False
