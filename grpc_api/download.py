"""Fetching an image from a URL: checked addresses, capped bytes, a total deadline, redirects."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable
from typing import Any
from urllib.parse import urljoin

import httpcore

from grpc_api.url_policy import (
    AddressPolicy,
    Resolver,
    check_url,
    resolve_allowed,
    system_resolver,
)
from imagescaler.runtime.errors import DownloadFailed, ImageTooLarge

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
REQUEST_HEADERS = [
    (b"Accept", b"image/*"),
    (b"Accept-Encoding", b"identity"),
    (b"User-Agent", b"imagescaler/0.1"),
]
_TRANSPORT_ERRORS = (
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    httpcore.TimeoutException,
    ssl.SSLError,
    OSError,
)


class CheckedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to the address it has just checked, so DNS cannot rebind in between."""

    def __init__(
        self,
        policy: AddressPolicy,
        resolver: Resolver = system_resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> Any:
        address = await resolve_allowed(host, port, self._policy, self._resolver)
        return await self._inner.connect_tcp(
            address,
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class Downloader:
    """One connection pool for all downloads of a process."""

    def __init__(
        self,
        max_bytes: int,
        total_timeout: float,
        connect_timeout: float,
        max_redirects: int,
        policy: AddressPolicy,
        *,
        backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._max_bytes = max_bytes
        self._total_timeout = total_timeout
        self._connect_timeout = connect_timeout
        self._max_redirects = max_redirects
        self._pool = httpcore.AsyncConnectionPool(
            network_backend=backend or CheckedBackend(policy), max_connections=64, retries=0
        )

    async def fetch(self, url: str) -> bytes:
        """The body of `url`, or a DownloadFailed / SourceRefused / ImageTooLarge naming why not."""
        try:
            async with asyncio.timeout(self._total_timeout):
                return await self._follow(url)
        except TimeoutError:
            raise DownloadFailed(
                f"downloading {url} took longer than the limit of {self._total_timeout:g} s"
            ) from None

    async def close(self) -> None:
        await self._pool.aclose()

    async def _follow(self, url: str) -> bytes:
        for _ in range(self._max_redirects + 1):
            body, location = await self._get(url)
            if location is None:
                return body
            url = urljoin(url, location)
        raise DownloadFailed(f"the URL redirected more than {self._max_redirects} times")

    async def _get(self, url: str) -> tuple[bytes, str | None]:
        checked = check_url(url)
        timeouts = {
            "connect": self._connect_timeout,
            "read": self._total_timeout,
            "write": self._total_timeout,
            "pool": self._total_timeout,
        }
        try:
            async with self._pool.stream(
                "GET", checked.url, headers=REQUEST_HEADERS, extensions={"timeout": timeouts}
            ) as response:
                return await self._read(checked.url, response)
        except _TRANSPORT_ERRORS as error:
            raise DownloadFailed(f"could not download {checked.url}: {_describe(error)}") from None

    async def _read(self, url: str, response: Any) -> tuple[bytes, str | None]:
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in response.headers
        }
        if response.status in REDIRECT_STATUSES and "location" in headers:
            return b"", headers["location"]
        if not 200 <= response.status < 300:
            raise DownloadFailed(f"{url} answered HTTP {response.status}")
        encoding = headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise DownloadFailed(
                f"{url} sent a {encoding}-encoded body; only identity encoding is accepted"
            )
        self._check_declared_length(url, headers.get("content-length"))
        return await self._read_capped(url, response), None

    def _check_declared_length(self, url: str, declared: str | None) -> None:
        if declared is not None and declared.strip().isdigit() and int(declared) > self._max_bytes:
            raise ImageTooLarge(
                f"{url} is {int(declared)} bytes, over the limit of {self._max_bytes} bytes"
            )

    async def _read_capped(self, url: str, response: Any) -> bytes:
        chunks: list[bytes] = []
        received = 0
        async for chunk in response.aiter_stream():
            received += len(chunk)
            if received > self._max_bytes:
                raise ImageTooLarge(f"{url} sent more than the limit of {self._max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) < 300 else text[:300] + "..."
