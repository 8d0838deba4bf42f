"""URL and address checks, before any connection."""

from __future__ import annotations

import asyncio

import pytest

from grpc_api.url_policy import AddressPolicy, check_url, resolve_allowed
from imagescaler.runtime.errors import InvalidRequest, SourceRefused


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://example.com/a.jpg", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("example.com/a.jpg", "only http and https"),
        ("http://user:pass@example.com/a.jpg", "credentials"),
        ("http://example.com/" + "a" * 3000, "over the limit"),
    ],
)
def test_refused_urls(url: str, words: str) -> None:
    with pytest.raises(SourceRefused, match=words):
        check_url(url)


def test_url_without_host_is_invalid() -> None:
    with pytest.raises(InvalidRequest, match="no host"):
        check_url("http:///a.jpg")


def test_default_ports() -> None:
    assert check_url("https://example.com/x").port == 443
    assert check_url("HTTP://Example.com:8080/x").port == 8080


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
        "224.0.0.1",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert AddressPolicy().refusal(address) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert AddressPolicy().refusal(address) is None


def test_allow_private_admits_loopback_but_never_unspecified() -> None:
    assert AddressPolicy(allow_private=True).refusal("127.0.0.1") is None
    assert AddressPolicy(allow_private=True).refusal("0.0.0.0") is not None


@pytest.mark.parametrize("host", ["localhost", "127.1", "2130706433", "0x7f.1", "::1"])
def test_every_spelling_of_loopback_resolves_and_is_refused(host: str) -> None:
    with pytest.raises(SourceRefused, match="loopback"):
        asyncio.run(resolve_allowed(host, 80, AddressPolicy()))
