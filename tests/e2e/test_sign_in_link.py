"""`shipnotify token courier ID --link`: the courier app's sign-in link, and its QR code;
`shipnotify token vapid`: a key pair for push notices."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from shipnotify.config import Settings
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


def test_token_vapid_prints_a_key_pair_the_settings_take() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "shipnotify", "token", "vapid"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    pair = dict(line.split("=", 1) for line in done.stdout.splitlines())
    settings = Settings.from_env(pair)  # both keys valid as the settings check them
    private = int.from_bytes(b64url(settings.vapid_private_key), "big")
    public = ec.derive_private_key(private, ec.SECP256R1()).public_key()
    point = public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    assert point == b64url(settings.vapid_public_key)  # a pair


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
