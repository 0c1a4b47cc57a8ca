"""Safe targets: which addresses and URLs a webhook may go to (no I/O)."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from shipnotify import targets
from shipnotify.targets import Unsafe, check_url, refusal

pytestmark = pytest.mark.redis_agnostic

UNSAFE = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("::1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "metadata"),
    ("169.254.10.1", "link-local"),
    ("fe80::1", "link-local"),
    ("100.64.0.1", "CGNAT"),
    ("100.127.255.254", "CGNAT"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),  # noqa: S104
    ("::", "unspecified"),
    ("240.0.0.1", "reserved"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("fec0::1", "site-local"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:169.254.169.254", "metadata"),
    ("192.0.2.7", "private"),  # documentation (TEST-NET-1): never a real endpoint
]
PUBLIC = ["93.184.215.14", "8.8.8.8", "100.128.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize(("address", "word"), UNSAFE)
def test_an_unsafe_address_is_refused_with_its_reason(address: str, word: str) -> None:
    reason = refusal(ip_address(address), allow_loopback=False)
    assert reason is not None
    assert word in reason


@pytest.mark.parametrize("address", PUBLIC)
def test_a_public_address_passes(address: str) -> None:
    assert refusal(ip_address(address), allow_loopback=False) is None


def test_loopback_passes_only_when_allowed() -> None:
    for address in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        assert refusal(ip_address(address), allow_loopback=True) is None
    # allowing loopback allows nothing else
    for address in ("10.0.0.1", "169.254.169.254", "100.64.0.1"):
        assert refusal(ip_address(address), allow_loopback=True) is not None


@pytest.mark.parametrize(
    ("url", "word"),
    [
        ("http://example.com/hook", "https"),
        ("ftp://example.com/", "https"),
        ("https:///nohost", "no host"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://[::1]:8443/hook", "loopback"),
        ("https://169.254.169.254/latest/meta-data", "metadata"),
        ("https://10.0.0.5/", "private"),
        ("https://[::ffff:192.168.0.1]/", "private"),
        ("https://example.com:99999/", "not a URL"),
        ("https://" + "0" * 2000 + "/", "not a valid name"),  # a label of 2,000 bytes
        ("https://a..example.com/", "not a valid name"),
        ("https://" + "a." * 130 + "example.com/", "not a valid name"),  # 271 bytes
    ],
    ids=[
        "http",
        "ftp",
        "no-host",
        "v4-loopback",
        "v6-loopback",
        "metadata",
        "private",
        "mapped-private",
        "bad-port",
        "long-label",
        "empty-label",
        "long-name",
    ],
)
def test_an_unsafe_url_is_refused(url: str, word: str) -> None:
    with pytest.raises(Unsafe) as refused:
        check_url(url, allow_loopback=False)
    assert word in refused.value.reason


def test_a_safe_url_gives_its_host_and_port() -> None:
    assert check_url("https://hooks.example.com/in", allow_loopback=False) == (
        "hooks.example.com",
        443,
    )
    assert check_url("https://8.8.8.8:8443/", allow_loopback=False) == ("8.8.8.8", 8443)
    assert check_url("http://127.0.0.1:9000/", allow_loopback=True) == ("127.0.0.1", 9000)


def test_an_unsafe_target_is_a_connection_error() -> None:
    # aiohttp reports a resolver's OSError as a connection error, with its reason
    assert issubclass(targets.Unsafe, OSError)
