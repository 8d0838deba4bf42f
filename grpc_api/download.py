"""Fetching an image from a URL with httpx: checked addresses, capped bytes, a total deadline,
redirects re-checked hop by hop."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable
from typing import Any
from urllib.parse import urljoin

import httpcore
import httpx

from grpc_api.url_policy import (
    AddressPolicy,
    Resolver,
    check_url,
    resolve_allowed,
    system_resolver,
)
from imagescaler.runtime.errors import DownloadFailed, ImageTooLarge

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# After a read smaller than this, wait a moment so the kernel gathers more: a server that
# drips a byte at a time then costs about 170 reads a second, not a core (eight dripping
# downloads took 0.76 s of the API's CPU in 4 s, 4.05 s unpaced). Small, so that TLS, whose
# reads return one record (often about 1,400 bytes), is never paced.
SMALL_READ_BYTES = 1024
SMALL_READ_PAUSE = 0.01
REQUEST_HEADERS = {
    "Accept": "image/*",
    "Accept-Encoding": "identity",
    "User-Agent": "imagescaler/0.1",
}


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


class CheckedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport, connecting through the checked backend. httpx has no argument for a
    network backend, so the httpcore pool it builds is replaced by one that has it (the same
    pool httpx would build: HTTP/1.1, no retries)."""

    def __init__(self, backend: httpcore.AsyncNetworkBackend) -> None:
        super().__init__(retries=0)
        # Keep-alive off: a connection whose response did not end where its framing said
        # can never be reused for the next download.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl.create_default_context(),
            max_connections=64,
            max_keepalive_connections=0,
            network_backend=backend,
        )


class Downloader:
    """All downloads of a process, through one httpx client (redirects followed by hand, so
    every hop is checked)."""

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
        self._max_redirects = max_redirects
        self._client = httpx.AsyncClient(
            transport=CheckedTransport(backend or CheckedBackend(policy)),
            headers=REQUEST_HEADERS,
            timeout=httpx.Timeout(total_timeout, connect=connect_timeout),
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: the backend decides where to connect
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
        await self._client.aclose()

    async def _follow(self, url: str) -> bytes:
        for _ in range(self._max_redirects + 1):
            body, location = await self._get(url)
            if location is None:
                return body
            url = urljoin(url, location)
        raise DownloadFailed(f"the URL redirected more than {self._max_redirects} times")

    async def _get(self, url: str) -> tuple[bytes, str | None]:
        checked = check_url(url)
        try:
            async with self._client.stream("GET", checked.url) as response:
                return await self._read(checked.url, response)
        except (httpx.TransportError, httpx.InvalidURL, ssl.SSLError, OSError) as error:
            raise DownloadFailed(f"could not download {checked.url}: {_describe(error)}") from None

    async def _read(self, url: str, response: httpx.Response) -> tuple[bytes, str | None]:
        if response.status_code in REDIRECT_STATUSES and "location" in response.headers:
            return b"", response.headers["location"]
        if not 200 <= response.status_code < 300:
            raise DownloadFailed(f"{url} answered HTTP {response.status_code}")
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise DownloadFailed(
                f"{url} sent a {encoding}-encoded body; only identity encoding is accepted"
            )
        declared = _declared(response)
        self._check_declared_length(url, declared)
        return await self._read_capped(url, response, declared), None

    def _check_declared_length(self, url: str, declared: int | None) -> None:
        if declared is not None and declared > self._max_bytes:
            raise ImageTooLarge(
                f"{url} is {declared} bytes, over the limit of {self._max_bytes} bytes"
            )

    async def _read_capped(self, url: str, response: httpx.Response, declared: int | None) -> bytes:
        chunks: list[bytes] = []
        received = 0
        async for chunk in response.aiter_raw():
            received += len(chunk)
            if received > self._max_bytes:
                raise ImageTooLarge(f"{url} sent more than the limit of {self._max_bytes} bytes")
            chunks.append(chunk)
            if len(chunk) < SMALL_READ_BYTES and received != declared:
                await asyncio.sleep(SMALL_READ_PAUSE)
        return b"".join(chunks)


def _declared(response: httpx.Response) -> int | None:
    length = response.headers.get("content-length", "").strip()
    return int(length) if length.isdigit() else None


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) < 300 else text[:300] + "..."
