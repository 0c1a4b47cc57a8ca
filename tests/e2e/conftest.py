"""A `shipnotify dev` process for the end-to-end tests that need the whole stack."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.async_api import Browser, async_playwright

from shipnotify.devstack.processes import free_port

API_KEY = "e2e-test-key"
CHROMIUM = "/usr/bin/chromium"
# As the machine's closed network wants: no background connections, no first-run work.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# The application server's VAPID key pair (RFC 8292): the tracking page offers push notices
# with the public key.
_VAPID = ec.generate_private_key(ec.SECP256R1())
VAPID_PUBLIC_KEY = _b64url(
    _VAPID.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
)
VAPID_PRIVATE_KEY = _b64url(_VAPID.private_numbers().private_value.to_bytes(32, "big"))


@pytest.fixture(scope="session")
def dev_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the `dev` process writes its banner and its log."""
    return tmp_path_factory.mktemp("dev") / "dev.out"


@pytest.fixture(scope="session")
def dev(dev_output: Path) -> Iterator[str]:
    port = free_port()
    out = dev_output
    env = {
        **os.environ,
        "SHIPNOTIFY_API_KEYS": API_KEY,
        "SHIPNOTIFY_TRACK_REQUESTS_PER_MINUTE": "100000",
        "SHIPNOTIFY_VAPID_PUBLIC_KEY": VAPID_PUBLIC_KEY,
        "SHIPNOTIFY_VAPID_PRIVATE_KEY": VAPID_PRIVATE_KEY,
        "SHIPNOTIFY_VAPID_SUBJECT": "mailto:ops@carrier.example",
    }
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shipnotify", "dev", "--no-demo", "--http-port", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + 60
        while "shipnotify dev is up" not in out.read_text():
            assert proc.poll() is None, out.read_text()
            assert time.monotonic() < deadline, out.read_text()
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`shipnotify dev` with its demo and history, once the history's figures are in."""
    out = tmp_path_factory.mktemp("console") / "dev.log"
    port = free_port()
    env = {**os.environ, "SHIPNOTIFY_API_KEYS": API_KEY}
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shipnotify", "dev", "--http-port", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while "history " not in out.read_text():
            assert proc.poll() is None, out.read_text()
            assert time.monotonic() < deadline, out.read_text()
            time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
