"""Hostile URLs: refused with a clear status, and nothing listening there is ever reached."""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
from collections.abc import Callable
from typing import Any

import grpc
import httpcore
import pytest

from grpc_api.download import CheckedBackend, Downloader
from grpc_api.url_policy import AddressPolicy
from imagescaler.grpc_runtime.server import RunningServer
from imagescaler.runtime.errors import DownloadFailed, SourceRefused
from tests.support.listeners import CountingListener
from tests.support.servers import LocalHttpServer, Route, ScaleClient

LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "127.1",
    "2130706433",
    "0x7f.1",
    "localhost",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "0.0.0.0",
]
NON_PUBLIC = [
    "169.254.169.254",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "[fd00::1]",
    "[fe80::1]",
    "[::ffff:169.254.169.254]",
]


@pytest.fixture
def loopback_listeners() -> Any:
    with CountingListener("127.0.0.1") as v4:
        try:
            v6: CountingListener | None = CountingListener("::1", v4.port)
        except OSError:
            v6 = None
        yield v4, v6
        if v6 is not None:
            v6.__exit__(None, None, None)


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_every_spelling_of_loopback_is_refused_without_a_connection(
    client: ScaleClient, loopback_listeners: Any, host: str
) -> None:
    v4, v6 = loopback_listeners
    error = client.error(url=f"http://{host}:{v4.port}/photo.jpg")
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "refused" in (error.details() or "")
    assert v4.connections == 0 and (v6 is None or v6.connections == 0)


@pytest.mark.parametrize("host", NON_PUBLIC)
def test_metadata_private_cgnat_link_local_and_unique_local_are_refused(
    client: ScaleClient, host: str
) -> None:
    error = client.error(url=f"http://{host}/latest/meta-data/")
    # The policy's own reason: a connection tried and failed would read "could not download".
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "non-public" in (error.details() or "") or "link-local" in (error.details() or "")


@pytest.mark.parametrize(
    ("url", "code", "words"),
    [
        ("ftp://example.com/a.jpg", grpc.StatusCode.PERMISSION_DENIED, "only http and https"),
        ("file:///etc/passwd", grpc.StatusCode.PERMISSION_DENIED, "only http and https"),
        ("gopher://example.com/", grpc.StatusCode.PERMISSION_DENIED, "only http and https"),
        ("http://user:pass@example.com/a.jpg", grpc.StatusCode.PERMISSION_DENIED, "credentials"),
        ("http://example.com@127.0.0.1/a.jpg", grpc.StatusCode.PERMISSION_DENIED, "credentials"),
        ("http://example.com/" + "a" * 5000, grpc.StatusCode.PERMISSION_DENIED, "characters long"),
    ],
)
def test_schemes_credentials_and_long_urls_are_refused(
    client: ScaleClient, url: str, code: grpc.StatusCode, words: str
) -> None:
    error = client.error(url=url)
    assert error.code() == code and words in (error.details() or "")


@pytest.fixture
def api_allowing_only_127_0_0_1(start_api: Callable[..., RunningServer]) -> ScaleClient:
    """An API that may fetch from 127.0.0.1/32 (say, an internal image store) and nothing else."""
    return ScaleClient(start_api(allowed_url_networks="127.0.0.1/32", download_timeout=3.0).port)


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.2:{port}/x.jpg",
        "http://[::1]:{port}/x.jpg",
        "http://169.254.169.254/latest/",
        "http://10.0.0.1/x.jpg",
        "file:///etc/passwd",
    ],
)
def test_redirects_to_refused_targets_are_refused(
    api_allowing_only_127_0_0_1: ScaleClient, http_server: LocalHttpServer, target: str
) -> None:
    with CountingListener("127.0.0.2") as listener:
        http_server.routes["/r"] = Route(
            302, headers={"Location": target.format(port=listener.port)}
        )
        error = api_allowing_only_127_0_0_1.error(url=http_server.url("/r"))
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED, error.details()
        assert listener.connections == 0
    assert [path for path, _ in http_server.requests] == ["/r"]


def test_redirect_chain_over_the_limit(
    api_allowing_only_127_0_0_1: ScaleClient, http_server: LocalHttpServer
) -> None:
    for hop in range(10):
        http_server.routes[f"/{hop}"] = Route(302, headers={"Location": f"/{hop + 1}"})
    error = api_allowing_only_127_0_0_1.error(url=http_server.url("/0"))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "redirected more than 3 times" in (error.details() or "")
    assert len(http_server.requests) == 4


def test_gzip_bomb_is_refused_unread(
    api_allowing_only_127_0_0_1: ScaleClient, http_server: LocalHttpServer
) -> None:
    bomb = gzip.compress(b"\0" * (200 << 20))  # 200 MB of zeros in about 200 kB
    http_server.routes["/bomb.jpg"] = Route(body=bomb, headers={"Content-Encoding": "gzip"})
    error = api_allowing_only_127_0_0_1.error(url=http_server.url("/bomb.jpg"))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "gzip-encoded" in (error.details() or "")
    assert http_server.requests[0][1]["Accept-Encoding"] == "identity"


def serve_raw(handler: Callable[[socket.socket], None]) -> tuple[int, threading.Event]:
    """A one-connection TCP server on 127.0.0.1 running `handler`; set the event to end it."""
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def run() -> None:
        with listener:
            listener.settimeout(10)
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                return
            with connection:
                connection.recv(65536)
                handler(connection)
                done.wait(15)

    threading.Thread(target=run, daemon=True).start()
    return listener.getsockname()[1], done


def test_a_dripping_server_hits_the_total_deadline(
    start_api: Callable[..., RunningServer],
) -> None:
    stop = threading.Event()

    def drip(connection: socket.socket) -> None:
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        while not stop.is_set():
            try:
                connection.sendall(b"x")
            except OSError:
                return
            stop.wait(0.5)  # two bytes a second: the read timeout alone never fires

    port, done = serve_raw(drip)
    api = ScaleClient(start_api(allow_private_urls=True, download_timeout=2.0).port)
    error = api.error(url=f"http://127.0.0.1:{port}/drip.jpg")
    stop.set()
    done.set()
    # The total deadline's own message: the read timeout or the size cap would read otherwise.
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "took longer than the limit of 2 s" in (error.details() or "")


def test_body_over_the_cap_without_content_length(
    start_api: Callable[..., RunningServer],
) -> None:
    def endless(connection: socket.socket) -> None:
        connection.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        try:
            for _ in range(1000):
                connection.sendall(b"x" * 65536)
        except OSError:
            return

    port, done = serve_raw(endless)
    api = ScaleClient(start_api(allow_private_urls=True, max_image_bytes=1 << 20).port)
    error = api.error(url=f"http://127.0.0.1:{port}/endless.jpg")
    done.set()
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "more than the limit of 1048576 bytes" in (error.details() or "")


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """The edge of the network: records where it was asked to connect, connects nowhere."""

    def __init__(self) -> None:
        self.connected: list[str] = []

    async def connect_tcp(self, host: str, port: int, **_: Any) -> Any:
        self.connected.append(host)
        raise httpcore.ConnectError("test edge: no network here")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def rebinding_fetch(answers: list[list[str]]) -> tuple[BaseException, list[str], list[str]]:
    """Fetch through a resolver that gives `answers` in turn; return error, lookups, connects."""
    lookups: list[str] = []
    edge = RecordingBackend()

    async def resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        return answers[min(len(lookups), len(answers)) - 1]

    async def go() -> BaseException:
        backend = CheckedBackend(AddressPolicy(), resolver, inner=edge)
        downloader = Downloader(10_000, 2.0, 1.0, 2, AddressPolicy(), backend=backend)
        try:
            await downloader.fetch("http://rebind.example/a.jpg")
        except (DownloadFailed, SourceRefused) as error:
            return error
        finally:
            await downloader.close()
        raise AssertionError("the fetch should have failed")

    return asyncio.run(go()), lookups, edge.connected


def test_dns_rebinding_the_address_checked_is_the_address_connected_to() -> None:
    # First answer public, every later one loopback: only the checked public one is used.
    error, lookups, connected = rebinding_fetch([["93.184.216.34"], ["127.0.0.1"]])
    assert lookups == ["rebind.example"]
    assert connected == ["93.184.216.34"]
    assert isinstance(error, DownloadFailed)


def test_dns_answer_with_any_private_address_is_refused_before_connecting() -> None:
    error, _, connected = rebinding_fetch([["93.184.216.34", "127.0.0.1"]])
    assert isinstance(error, SourceRefused) and "loopback" in error.message
    assert connected == []
