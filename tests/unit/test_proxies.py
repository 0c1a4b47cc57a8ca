"""The client's address behind proxies: the rightmost address that is not a trusted proxy,
and only when the connection comes from one."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

from shipnotify.web.proxies import client_address, hops_of, networks, parse

TRUSTED = networks(["127.0.0.1/32", "10.0.0.0/8", "2001:db8:ffff::/48"])


@pytest.mark.parametrize(
    ("peer", "hops", "client"),
    [
        # a peer that is not a trusted proxy: its headers are ignored, whatever they say
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),
        ("203.0.113.9", [], "203.0.113.9"),
        # one trusted proxy
        ("127.0.0.1", ["198.51.100.1"], "198.51.100.1"),
        ("127.0.0.1", [], "127.0.0.1"),
        # a chain: the rightmost address that is not a trusted proxy
        ("127.0.0.1", ["198.51.100.1", "10.1.2.3"], "198.51.100.1"),
        ("10.0.0.5", ["198.51.100.1", "10.9.9.9", "10.1.2.3"], "198.51.100.1"),
        # what a client wrote itself, left of what the proxies wrote, is ignored
        ("127.0.0.1", ["1.2.3.4", "6.6.6.6", "198.51.100.1"], "198.51.100.1"),
        ("127.0.0.1", ["10.0.0.1", "198.51.100.1"], "198.51.100.1"),
        # every hop trusted: the leftmost, an address inside the trusted networks
        ("127.0.0.1", ["10.0.0.7", "10.1.2.3"], "10.0.0.7"),
        # ports, brackets, IPv6
        ("127.0.0.1", ["198.51.100.1:4711"], "198.51.100.1"),
        ("127.0.0.1", ["[2001:db8::1]:4711"], "2001:db8::1"),
        ("127.0.0.1", ["2001:db8::1"], "2001:db8::1"),
        ("127.0.0.1", [" 198.51.100.1 "], "198.51.100.1"),
        ("2001:db8:ffff::2", ["2001:db8::1"], "2001:db8::1"),
        ("::ffff:127.0.0.1", ["198.51.100.1"], "198.51.100.1"),  # a dual-stack socket's peer
        # a hop that names no address: the proxy that wrote it is the client we know
        ("127.0.0.1", ["198.51.100.1", "unknown"], "127.0.0.1"),
        ("127.0.0.1", ["198.51.100.1", "_hidden", "10.1.2.3"], "10.1.2.3"),
        ("127.0.0.1", ["198.51.100.1", "not an address"], "127.0.0.1"),
        ("127.0.0.1", [""], "127.0.0.1"),
        (None, ["198.51.100.1"], None),
    ],
)
def test_the_client_is_the_rightmost_untrusted_address(
    peer: str | None, hops: list[str], client: str | None
) -> None:
    assert client_address(peer, hops, TRUSTED) == client


def test_no_trusted_proxy_believes_no_header() -> None:
    assert client_address("127.0.0.1", ["198.51.100.1"], ()) == "127.0.0.1"


@pytest.mark.parametrize(
    ("written", "address"),
    [
        ("192.0.2.43", "192.0.2.43"),
        ("192.0.2.43:47011", "192.0.2.43"),
        ("[2001:db8:cafe::17]:4711", "2001:db8:cafe::17"),
        ("[2001:db8:cafe::17]", "2001:db8:cafe::17"),
        ("2001:db8:cafe::17", "2001:db8:cafe::17"),
        ("[2001:db8:cafe::17", None),
        ("unknown", None),
        ("_gazonk", None),
        ("", None),
    ],
)
def test_addresses_are_read_as_proxies_write_them(written: str, address: str | None) -> None:
    parsed = parse(written)
    assert (str(parsed) if parsed else None) == address


def _hops(**headers: str) -> list[str]:
    request = make_mocked_request("GET", "/", headers=CIMultiDict(headers))
    return hops_of(request)


def test_forwarded_is_read_as_rfc_7239_says() -> None:
    forwarded = 'for="[2001:db8:cafe::17]:4711";proto=https, for=192.0.2.60;by=203.0.113.43'
    assert _hops(Forwarded=forwarded) == ["[2001:db8:cafe::17]:4711", "192.0.2.60"]
    assert _hops(Forwarded="proto=https, for=192.0.2.60") == ["", "192.0.2.60"]


def test_x_forwarded_for_comes_first_when_both_are_there() -> None:
    """A client can send a Forwarded that an X-Forwarded-For proxy passes on untouched."""
    both = {"Forwarded": "for=6.6.6.6", "X-Forwarded-For": "198.51.100.1, 10.1.2.3"}
    assert _hops(**both) == ["198.51.100.1", " 10.1.2.3"]
    assert client_address("127.0.0.1", _hops(**both), TRUSTED) == "198.51.100.1"


def test_several_x_forwarded_for_lines_are_one_list() -> None:
    request = make_mocked_request(
        "GET",
        "/",
        headers=CIMultiDict([("X-Forwarded-For", "1.2.3.4"), ("X-Forwarded-For", "198.51.100.1")]),
    )
    assert client_address("127.0.0.1", hops_of(request), TRUSTED) == "198.51.100.1"
