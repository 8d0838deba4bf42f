"""Real servers for the tests: gRPC services from keyword settings, a gRPC client of the API,
and a local HTTP server that serves fixed routes."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
import pytest

from grpc_stubs import imagescaler_pb2 as api_pb
from grpc_stubs import imagescaler_pb2_grpc as api_grpc
from imagescaler.grpc_runtime.options import CLIENT_MESSAGE_LIMIT, message_size_options
from imagescaler.grpc_runtime.server import RunningServer
from tests.support.loop import LoopThread

CLIENT_OPTIONS = message_size_options(CLIENT_MESSAGE_LIMIT)


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


class ScaleClient:
    """A blocking client of the ImageScaler API built from our generated stubs."""

    def __init__(self, port: int, own_connection: bool = False) -> None:
        """`own_connection`: a connection no other client in this process shares."""
        private = [("grpc.use_local_subchannel_pool", 1)] if own_connection else []
        self.channel = grpc.insecure_channel(
            f"127.0.0.1:{port}", options=[*CLIENT_OPTIONS, *private]
        )
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
