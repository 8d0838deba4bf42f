"""Downloads against a real local HTTP server (private addresses allowed for the test)."""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading

import pytest

from grpc_api.download import Downloader
from grpc_api.url_policy import AddressPolicy
from imagescaler.runtime.errors import DownloadFailed, ImageTooLarge, SourceRefused
from tests.support.servers import LocalHttpServer, Route


def fetch(
    url: str, allow_private: bool = True, max_bytes: int = 10_000, redirects: int = 2
) -> bytes:
    async def go() -> bytes:
        downloader = Downloader(max_bytes, 3.0, 1.0, redirects, AddressPolicy(allow_private))
        try:
            return await downloader.fetch(url)
        finally:
            await downloader.close()

    return asyncio.run(go())


def test_fetches_the_body(http_server: LocalHttpServer) -> None:
    http_server.routes["/a.jpg"] = Route(body=b"image bytes")
    assert fetch(http_server.url("/a.jpg")) == b"image bytes"
    headers = http_server.requests[0][1]
    assert headers["Accept-Encoding"] == "identity"


def test_non_2xx_names_the_status(http_server: LocalHttpServer) -> None:
    with pytest.raises(DownloadFailed, match="HTTP 404"):
        fetch(http_server.url("/missing.jpg"))


def test_follows_redirects_within_the_limit(http_server: LocalHttpServer) -> None:
    http_server.routes["/1"] = Route(302, headers={"Location": "/2"})
    http_server.routes["/2"] = Route(301, headers={"Location": http_server.url("/3")})
    http_server.routes["/3"] = Route(body=b"done")
    assert fetch(http_server.url("/1")) == b"done"


def test_too_many_redirects(http_server: LocalHttpServer) -> None:
    for hop in range(5):
        http_server.routes[f"/{hop}"] = Route(302, headers={"Location": f"/{hop + 1}"})
    with pytest.raises(DownloadFailed, match="redirected more than 2 times"):
        fetch(http_server.url("/0"))


def test_redirect_to_a_refused_scheme(http_server: LocalHttpServer) -> None:
    http_server.routes["/r"] = Route(302, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(SourceRefused, match="only http and https"):
        fetch(http_server.url("/r"))


def test_declared_length_over_the_cap(http_server: LocalHttpServer) -> None:
    http_server.routes["/big"] = Route(body=b"x" * 20_000)
    with pytest.raises(ImageTooLarge, match="20000 bytes, over the limit of 10000"):
        fetch(http_server.url("/big"))


def test_short_declared_length_reads_no_further(http_server: LocalHttpServer) -> None:
    http_server.routes["/liar"] = Route(body=b"x" * 20_000, headers={"Content-Length": "100"})
    assert len(fetch(http_server.url("/liar"))) == 100


def test_missing_length_is_capped_while_streaming(http_server: LocalHttpServer) -> None:
    chunked = b"".join(b"%x\r\n%s\r\n" % (1000, b"x" * 1000) for _ in range(20)) + b"0\r\n\r\n"
    http_server.routes["/chunked"] = Route(
        body=chunked, headers={"Content-Length": "", "Transfer-Encoding": "chunked"}
    )
    with pytest.raises(ImageTooLarge, match="more than the limit of 10000 bytes"):
        fetch(http_server.url("/chunked"))


def test_gzip_encoded_body_is_refused(http_server: LocalHttpServer) -> None:
    http_server.routes["/gz"] = Route(
        body=gzip.compress(b"x" * 1000), headers={"Content-Encoding": "gzip"}
    )
    with pytest.raises(DownloadFailed, match="gzip-encoded"):
        fetch(http_server.url("/gz"))


def test_loopback_refused_by_default_and_nothing_connects(http_server: LocalHttpServer) -> None:
    http_server.routes["/a.jpg"] = Route(body=b"image bytes")
    with pytest.raises(SourceRefused, match="loopback"):
        fetch(http_server.url("/a.jpg"), allow_private=False)
    assert http_server.requests == []


def test_unreachable_server() -> None:
    with pytest.raises(DownloadFailed, match="could not download"):
        fetch("http://127.0.0.1:9/a.jpg")


def test_server_that_never_answers_hits_the_total_deadline() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/a.jpg"

        async def go() -> bytes:
            downloader = Downloader(10_000, 1.0, 1.0, 2, AddressPolicy(allow_private=True))
            try:
                return await downloader.fetch(url)
            finally:
                await downloader.close()

        with pytest.raises(DownloadFailed, match="took longer than the limit of 1 s"):
            asyncio.run(go())


def test_a_body_longer_than_its_length_never_answers_the_next_download() -> None:
    """Response smuggling: the first answer carries a second one after its declared body. With
    pooled keep-alive connections the next download read that instead of its own answer."""
    smuggled = b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nSMUGGLED"
    connections: list[int] = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    def serve() -> None:
        with listener:
            for number in range(2):
                try:
                    connection, _ = listener.accept()
                except TimeoutError:
                    return
                connections.append(number)
                with connection:
                    connection.recv(65536)
                    body = b"first" if number == 0 else b"second"
                    extra = smuggled if number == 0 else b""
                    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)
                    connection.sendall(head + body + extra)
                    connection.recv(65536)  # a reused connection's next request would land here

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/a.jpg"

    async def go() -> list[bytes]:
        downloader = Downloader(10_000, 3.0, 1.0, 0, AddressPolicy(allow_private=True))
        try:
            return [await downloader.fetch(url), await downloader.fetch(url)]
        finally:
            await downloader.close()

    assert asyncio.run(go()) == [b"first", b"second"]
    assert connections == [0, 1]  # a new connection for each download
