"""An S3-compatible server of the tests' own: moto's server mode on a free loopback port (a
real HTTP server speaking S3's REST API, in its own process), and a proxy in front of it that
counts requests and injects the faults object stores have: 503 SlowDown, dropped
connections, an upload that never finishes."""

from __future__ import annotations

import re
import socket
import socketserver
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.waiting import wait_until

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "test-key",
    "AWS_SECRET_ACCESS_KEY": "test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    # No instance metadata, profile or config file of this machine's is consulted.
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}
MOTO_SERVER = Path(sys.executable).parent / "moto_server"


@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen[bytes]

    @property
    def port(self) -> int:
        return int(self.endpoint.rsplit(":", 1)[1])

    def fs(self, endpoint: str | None = None) -> Any:
        import s3fs

        return s3fs.S3FileSystem(
            endpoint_url=endpoint or self.endpoint,
            key=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            secret=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            skip_instance_cache=True,
        )

    def bucket(self, name: str) -> None:
        self.fs().call_s3("create_bucket", Bucket=name)


@contextmanager
def s3_server(log: Path) -> Iterator[S3Server]:
    """moto_server on 127.0.0.1 and a port of its choosing; its output goes to `log`."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", "0"],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**CREDENTIALS, "PATH": "/usr/bin:/bin"},
        )
    found: list[str] = []

    def listening() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited: {log.read_text()[-2000:]}")
        match = re.search(r"Running on (http://127\.0\.0\.1:\d+)", log.read_text())
        found.extend([match[1]] if match else [])
        return bool(found)

    try:
        wait_until(listening, 30, "moto_server listening")
        yield S3Server(found[0], process)
    finally:
        process.terminate()
        process.wait(10)


@dataclass
class Faults:
    """What the proxy does to the next requests that match."""

    slow_down: int = 0  # answer this many 503 SlowDown
    drop: int = 0  # close this many connections without an answer
    hold: Callable[[str, str], bool] | None = None  # (method, path) -> keep it waiting
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class FaultyProxy:
    """A TCP proxy on 127.0.0.1 in front of the S3 server. Each request goes on a connection
    of its own (Connection: close), so each is seen: `requests` counts (method, kind) where
    kind is "object" for keys under an images prefix, "shard", "journal" or "other"."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = upstream_port
        self.faults = Faults()
        self.requests: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._handle(self.request)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.faults.release.set()
        self.server.shutdown()
        self.server.server_close()

    def count(self, method: str, kind: str) -> int:
        with self.lock:
            return self.requests[(method, kind)]

    def _handle(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(65536)
            if not chunk:
                return
            head += chunk
        head, _, rest = head.partition(b"\r\n\r\n")
        method, path = head.split(b" ", 2)[:2]
        decision = self._decide(method.decode(), path.decode())
        if decision == "drop":
            client.close()
            return
        if decision == "slow_down":
            body = (
                b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>SlowDown</Code>"
                b"<Message>Please reduce your request rate.</Message></Error>"
            )
            client.sendall(
                b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nConnection: close"
                b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            client.close()
            return
        if decision == "hold":
            self.faults.held.set()
            self.faults.release.wait()
            client.close()
            return
        lines = [
            line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")
        ]
        request = b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + rest
        with socket.create_connection(("127.0.0.1", self.upstream)) as upstream:
            upstream.sendall(request)
            pump = threading.Thread(target=_pump, args=(client, upstream), daemon=True)
            pump.start()
            _pump(upstream, client)
        client.close()

    def _decide(self, method: str, path: str) -> str:
        kind = _kind(path)
        with self.lock:
            self.requests[(method, kind)] += 1
            faults = self.faults
            if faults.hold is not None and faults.hold(method, path):
                return "hold"
            if faults.slow_down > 0:
                faults.slow_down -= 1
                return "slow_down"
            if faults.drop > 0:
                faults.drop -= 1
                return "drop"
        return "pass"


def _kind(path: str) -> str:
    key = path.split("?", 1)[0]
    if "/shard-" in key:
        return "shard"
    if "/progress/" in key:
        return "journal"
    if re.search(r"\.(jpg|jpeg|png|webp)$", key):
        return "object"
    return "other"


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        with suppress(OSError):
            target.shutdown(socket.SHUT_WR)


@contextmanager
def faulty_proxy(upstream_port: int) -> Iterator[FaultyProxy]:
    proxy = FaultyProxy(upstream_port)
    try:
        yield proxy
    finally:
        proxy.close()
