"""Image services as real processes, for the tests that kill, stop or signal them; each on
port 0, its ports read from its own log lines."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from imagescaler.grpc_runtime.client import health_status_at
from tests.support.processes import LISTENING, ServiceProcess, start
from tests.support.waiting import wait_until

METRICS_LISTENING = re.compile(r"metrics on \S+ \(port (\d+)\)")


class ImageServiceProcess:
    def __init__(self, *flags: str) -> None:
        command = [
            sys.executable, "-m", "imagescaler", "image-service",
            "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", *flags,
        ]  # fmt: skip
        self.service: ServiceProcess = start("image service", command, None, None)
        self.metrics_port = int(self.service.wait_for(METRICS_LISTENING)[1])
        self.port = int(self.service.wait_for(LISTENING)[1])
        self.wait_until("SERVING")

    @property
    def process(self) -> subprocess.Popen[str]:
        return self.service.process

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def health(self) -> str:
        return health_status_at(self.address, timeout=0.5)

    def wait_until(self, status: str, timeout: float = 20) -> None:
        wait_until(lambda: self.health() == status, timeout, f"health {status}")

    def metric(self, name: str) -> float:
        """The sum of a metric's samples on its /metrics page."""
        page = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text
        pattern = re.compile(rf"^{name}(?:{{[^}}]*}})? (\S+)$", re.MULTILINE)
        return sum(float(value) for value in pattern.findall(page))

    def stop(self) -> None:
        if self.service.process.poll() is None:
            self.service.process.kill()
        self.service.stop()


@contextmanager
def image_service_processes(count: int, *flags: str) -> Iterator[list[ImageServiceProcess]]:
    services = [ImageServiceProcess(*flags) for _ in range(count)]
    try:
        yield services
    finally:
        for service in services:
            service.stop()


SERVICE = [sys.executable, "-m", "imagescaler"]
LOOPBACK = ["--listen", "127.0.0.1:0", "--metrics-listen", ""]


@contextmanager
def api_process(
    *flags: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, ServiceProcess]]:
    """An API process, with an image service process behind it: its address and process.
    `env`: both processes' environment (an overlay's, say), else this one's."""
    image = start("image service", [*SERVICE, "image-service", *LOOPBACK], env, None)
    try:
        image_port = int(image.wait_for(LISTENING)[1])
        behind = ["--image-service", f"127.0.0.1:{image_port}"]
        api = start("API", [*SERVICE, "api", *LOOPBACK, *behind, *flags], env, None)
        try:
            yield f"127.0.0.1:{int(api.wait_for(LISTENING)[1])}", api
        finally:
            api.stop()
    finally:
        image.stop()
