"""`shipnotify token courier ID --link`: the courier app's sign-in link, and its QR code."""

from __future__ import annotations

import pytest

from shipnotify.cli import main
from shipnotify.web.auth import courier_id_from

SECRET = "link-test-secret-" + "x" * 32


def test_the_link_carries_the_couriers_token_in_its_fragment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPNOTIFY_COURIER_TOKEN_SECRET", SECRET)
    monkeypatch.setenv("SHIPNOTIFY_INGEST_URL", "https://couriers.carrier.example/")
    assert main(["token", "courier", "c-17", "--link"]) == 0
    link, *qr = capsys.readouterr().out.splitlines()
    base, _, token = link.partition("#token=")
    assert base == "https://couriers.carrier.example/courier/"
    assert courier_id_from(f"Bearer {token}", SECRET) == "c-17"
    # a square of half blocks, two rows of modules a line (a link this long: 57 modules and up)
    assert len(qr) >= 30
    assert len({len(row) for row in qr}) == 1
    assert set("".join(qr)) <= set("█▀▄\xa0")


def test_without_link_only_the_token(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPNOTIFY_COURIER_TOKEN_SECRET", SECRET)
    assert main(["token", "courier", "c-17"]) == 0
    (token,) = capsys.readouterr().out.splitlines()
    assert courier_id_from(f"Bearer {token}", SECRET) == "c-17"
