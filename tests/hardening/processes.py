"""Image services as real processes, for the tests that kill, stop or signal them."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from imagescaler.cli.bench.ports import free_port
from imagescaler.runtime.grpc_client import health_status_at


class ImageServiceProcess:
    def __init__(self, *flags: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "imagescaler",
                "image-service",
                "--listen",
                f"127.0.0.1:{self.port}",
                "--metrics-listen",
                "",
                *flags,
            ],
            stderr=subprocess.DEVNULL,
        )
        self.wait_until("SERVING")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def health(self) -> str:
        return health_status_at(self.address, timeout=0.5)

    def wait_until(self, status: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.health() == status:
                return
            time.sleep(0.05)
        raise AssertionError(f"the image service never reported {status}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


@contextmanager
def image_service_processes(count: int, *flags: str) -> Iterator[list[ImageServiceProcess]]:
    services = [ImageServiceProcess(*flags) for _ in range(count)]
    try:
        yield services
    finally:
        for service in services:
            service.stop()
