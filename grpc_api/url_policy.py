"""Which URLs and addresses the API may fetch from: public http(s) only, unless told otherwise."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import idna

from imagescaler.runtime.errors import DownloadFailed, InvalidRequest, SourceRefused

MAX_URL_LENGTH = 2048
DEFAULT_PORTS = {"http": 80, "https": 443}
_ASCII_HOST = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")
NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # RFC 2765 (SIIT)


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
    host = ascii_host(parts.hostname)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    # The host as it goes on the wire; httpx percent-encodes the path and query as browsers
    # do when it sends the request. The fragment is the browser's, never sent.
    encoded = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
    return CheckedUrl(encoded, scheme, host, port or DEFAULT_PORTS[scheme])


def ascii_host(host: str) -> str:
    """The host as it goes on the wire: an IP literal as is, a name in IDNA (UTS 46, as
    browsers map it); a host that cannot be encoded is refused."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        name = idna.encode(host, uts46=True).decode("ascii") if not host.isascii() else host
    except idna.IDNAError as error:
        raise InvalidRequest(f"the URL's host {host!r} cannot be encoded: {error}") from None
    labels = name.rstrip(".").split(".")
    if (
        not _ASCII_HOST.fullmatch(name.lower())
        or len(name) > 253
        or any(len(label) > 63 for label in labels)
    ):
        raise InvalidRequest(f"the URL's host {host!r} is not a valid host name")
    return name.lower()


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
        """Why this IP address may not be connected to, or None when it may. An IPv6 address
        that carries an IPv4 one (mapped, NAT64, 6to4, Teredo) is judged by the IPv4 inside,
        since that is where the packets end up."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address):
            if ip in NAT64_LOCAL_USE and not self._allowed(ip):
                return f"{ip}, a local-use NAT64 address whose IPv4 mapping is the network's own"
            carried = embedded_ipv4(ip)
            if carried is not None and (why := self._refusal(carried)) is not None:
                return f"{ip}, which carries {carried}: {why}"
        # Then the address itself: NAT64 and 6to4 of a public IPv4 address are public; Teredo
        # (2001::/32) is not, whatever it carries.
        return self._refusal(ip)

    def _allowed(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return self.allow_private or any(ip in n for n in self.allowed_networks)

    def _refusal(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
        if ip.is_unspecified or ip.is_multicast:
            return "an unspecified or multicast address"
        if ip.is_global or self._allowed(ip):
            return None
        if ip.is_loopback:
            return "a loopback address"
        if ip.is_link_local:
            return "a link-local address (such as cloud metadata)"
        return "a private or otherwise non-public address"


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped, IPv4-translated (::ffff:0:a.b.c.d), IPv4-compatible,
    NAT64 (64:ff9b::/96), 6to4 or Teredo (the client's) address reaches, or None."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in NAT64_WELL_KNOWN or ip in IPV4_TRANSLATED or (ip in IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


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
