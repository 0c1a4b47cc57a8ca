"""`shipnotify token courier ID --link`: the courier app's sign-in link, and its QR code."""

from __future__ import annotations

import os
import subprocess
import sys

from shipnotify.web.auth import courier_id_from

SECRET = "link-test-secret-" + "x" * 32


def token_command(*args: str, **env: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "shipnotify", "token", "courier", "c-17", *args],
        env={**os.environ, "SHIPNOTIFY_COURIER_TOKEN_SECRET": SECRET, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.splitlines()


def test_the_link_carries_the_couriers_token_in_its_fragment() -> None:
    link, *qr = token_command("--link", SHIPNOTIFY_INGEST_URL="https://couriers.carrier.example/")
    base, _, token = link.partition("#token=")
    assert base == "https://couriers.carrier.example/courier/"
    assert courier_id_from(f"Bearer {token}", SECRET) == "c-17"
    # a square of half blocks, two rows of modules a line (a link this long: 57 modules and up)
    assert len(qr) >= 30
    assert len({len(row) for row in qr}) == 1
    assert set("".join(qr)) <= set("█▀▄\xa0")


def test_without_link_only_the_token() -> None:
    (token,) = token_command()
    assert courier_id_from(f"Bearer {token}", SECRET) == "c-17"
