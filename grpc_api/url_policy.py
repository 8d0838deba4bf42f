"""Which URLs and addresses the API may fetch from: public http(s) only, unless told otherwise."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from imagescaler.runtime.errors import DownloadFailed, InvalidRequest, SourceRefused

MAX_URL_LENGTH = 2048
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class CheckedUrl:
    url: str
    scheme: str
    host: str
    port: int


def check_url(url: str) -> CheckedUrl:
    """Refuse anything but a plain http(s) URL with a host, before any network traffic."""
    if len(url) > MAX_URL_LENGTH:
        raise SourceRefused(
            f"the URL is {len(url)} characters long, over the limit of {MAX_URL_LENGTH}"
        )
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise InvalidRequest(f"the URL {url!r} is malformed: {error}") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise SourceRefused(
            f"only http and https URLs are fetched, not {scheme or 'a URL without a scheme'}"
        )
    if parts.username is not None or parts.password is not None:
        raise SourceRefused("URLs with user:password@ credentials are refused")
    if not parts.hostname:
        raise InvalidRequest(f"the URL {url!r} has no host")
    return CheckedUrl(url.strip(), scheme, parts.hostname, port or DEFAULT_PORTS[scheme])


Resolver = Callable[[str, int], Awaitable[list[str]]]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses only, unless private ones are allowed wholesale or by network."""

    allow_private: bool = False
    allowed_networks: tuple[Network, ...] = ()

    @classmethod
    def from_settings(cls, allow_private: bool, networks: list[str]) -> AddressPolicy:
        return cls(allow_private, tuple(ipaddress.ip_network(n, strict=False) for n in networks))

    def refusal(self, address: str) -> str | None:
        """Why this IP address may not be connected to, or None when it may."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if ip.is_unspecified or ip.is_multicast:
            return "an unspecified or multicast address"
        if self.allow_private or ip.is_global or any(ip in n for n in self.allowed_networks):
            return None
        if ip.is_loopback:
            return "a loopback address"
        if ip.is_link_local:
            return "a link-local address (such as cloud metadata)"
        return "a private or otherwise non-public address"


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise DownloadFailed(f"could not resolve host {host}") from None
    return [str(info[4][0]) for info in infos]


async def resolve_allowed(
    host: str, port: int, policy: AddressPolicy, resolver: Resolver = system_resolver
) -> str:
    """Resolve `host` once and return an address to connect to; refuse if any is not allowed."""
    addresses = await resolver(host, port)
    if not addresses:
        raise DownloadFailed(f"the host {host!r} has no address")
    for address in addresses:
        why = policy.refusal(address)
        if why is not None:
            raise SourceRefused(f"the host {host!r} resolves to {address}, {why}; refused")
    return addresses[0]
