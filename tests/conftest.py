"""Fixtures: real servers on 127.0.0.1 ephemeral ports, built from keyword-argument settings."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
import pytest

from grpc_api.server import create_server as create_api
from grpc_api.settings import ApiSettings
from grpc_stubs import imagescaler_pb2 as api_pb
from grpc_stubs import imagescaler_pb2_grpc as api_grpc
from image_service.server import create_server as create_image_service
from image_service.settings import ImageServiceSettings
from imagescaler.runtime.grpc_server import RunningServer
from tests.support import LoopThread

pytest_plugins = ["tests.gateway_fixtures"]

CLIENT_OPTIONS = [
    ("grpc.max_receive_message_length", 64 << 20),
    ("grpc.max_send_message_length", 64 << 20),
]


@pytest.fixture(scope="session")
def loop_thread() -> Iterator[LoopThread]:
    loop = LoopThread()
    yield loop
    loop.close()


# Every in-process gRPC server in the tests: ephemeral ports, no drain pause on stop.
SERVER_DEFAULTS = {"listen": "127.0.0.1:0", "metrics_listen": "127.0.0.1:0", "drain_delay": 0}


@contextmanager
def server_starter(
    loop_thread: LoopThread,
    create: Callable[[Any], Awaitable[RunningServer]],
    settings_class: type[Any],
    defaults: dict[str, Any],
) -> Iterator[Callable[..., RunningServer]]:
    """A function that starts a server from keyword settings; all are stopped on the way out."""
    started: list[RunningServer] = []

    def start(**overrides: Any) -> RunningServer:
        settings = settings_class(**{**SERVER_DEFAULTS, **defaults, **overrides})
        started.append(loop_thread.run(create(settings)))
        return started[-1]

    try:
        yield start
    finally:
        for running in started:
            loop_thread.run(running.stop(0))


@pytest.fixture(scope="session")
def start_image_service(loop_thread: LoopThread) -> Iterator[Callable[..., RunningServer]]:
    with server_starter(
        loop_thread, create_image_service, ImageServiceSettings, {"workers": 2}
    ) as start:
        yield start


@pytest.fixture(scope="session")
def image_service(start_image_service: Callable[..., RunningServer]) -> RunningServer:
    return start_image_service()


@pytest.fixture(scope="session")
def start_api(
    loop_thread: LoopThread, image_service: RunningServer
) -> Iterator[Callable[..., RunningServer]]:
    defaults = {"image_service": f"127.0.0.1:{image_service.port}"}
    with server_starter(loop_thread, create_api, ApiSettings, defaults) as start:
        yield start


@pytest.fixture(scope="session")
def api(start_api: Callable[..., RunningServer]) -> RunningServer:
    """The API with default settings: private URLs refused."""
    return start_api()


@pytest.fixture(scope="session")
def api_private(start_api: Callable[..., RunningServer]) -> RunningServer:
    """The API as in local development: loopback URLs allowed, for the local HTTP server."""
    return start_api(allow_private_urls=True, download_timeout=3.0)


class ScaleClient:
    """A blocking client of the ImageScaler API built from our generated stubs."""

    def __init__(self, port: int) -> None:
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=CLIENT_OPTIONS)
        self.stub = api_grpc.ImageScalerStub(self.channel)

    def scale(self, content: bytes = b"", url: str = "") -> bytes:
        image = api_pb.Image(content=content, source=api_pb.ImageSource(http_uri=url))
        reply = self.stub.ScaleImage(api_pb.ScaleImageRequest(image=image), timeout=30)
        content_out: bytes = reply.content
        return content_out

    def error(self, content: bytes = b"", url: str = "") -> grpc.RpcError:
        with pytest.raises(grpc.RpcError) as caught:
            self.scale(content, url)
        return caught.value


@pytest.fixture
def client(api: RunningServer) -> Iterator[ScaleClient]:
    scale_client = ScaleClient(api.port)
    yield scale_client
    scale_client.channel.close()


@pytest.fixture
def private_client(api_private: RunningServer) -> Iterator[ScaleClient]:
    scale_client = ScaleClient(api_private.port)
    yield scale_client
    scale_client.channel.close()


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class LocalHttpServer:
    """A real HTTP server on 127.0.0.1 that serves fixed routes and records every request."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append((self.path, dict(self.headers)))
                route = outer.routes.get(self.path, Route(404, b"not found"))
                self.send_response(route.status)
                headers = {"Content-Length": str(len(route.body)), **route.headers}
                for name, value in headers.items():
                    if value:  # an empty value leaves the header out
                        self.send_header(name, value)
                self.end_headers()
                self.wfile.write(route.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def http_server() -> Iterator[LocalHttpServer]:
    server = LocalHttpServer()
    yield server
    server.close()
