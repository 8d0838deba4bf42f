"""`imagescaler up` as a user runs it, on free ports, for the tests that need the whole system."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from imagescaler.cli.bench.ports import free_port
from tests.support import ROOT

IMAGESCALER = [sys.executable, "-m", "imagescaler"]


@dataclass
class LocalSystem:
    process: subprocess.Popen[str]
    banner: str
    image_port: int
    api_port: int
    gateway_port: int
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        """Everything the system printed so far (read continuously, so it never blocks)."""
        return "".join(self.lines)

    @property
    def ports(self) -> tuple[int, int, int]:
        return self.image_port, self.api_port, self.gateway_port


@contextmanager
def local_system(
    dev_state: Path | None = None, extra_env: dict[str, str] | None = None
) -> Iterator[LocalSystem]:
    """Start `imagescaler up` and wait for its banner; kill it on the way out if still running."""
    image_port, api_port, gateway_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "IMAGESCALER_IMAGE_LISTEN": f"127.0.0.1:{image_port}",
        "IMAGESCALER_API_LISTEN": f"127.0.0.1:{api_port}",
        "IMAGESCALER_GATEWAY_LISTEN": f"127.0.0.1:{gateway_port}",
        # Not the default 9101/9102, which a developer's `make run` may hold.
        "IMAGESCALER_IMAGE_METRICS_LISTEN": "127.0.0.1:0",
        "IMAGESCALER_API_METRICS_LISTEN": "127.0.0.1:0",
    }
    env.update(extra_env or {})
    if dev_state is not None:
        env["IMAGESCALER_GATEWAY_DEV_STATE_FILE"] = str(dev_state)
    with subprocess.Popen(
        [*IMAGESCALER, "up"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    ) as process:
        try:
            banner = wait_for_line(process, "Press Ctrl-C to stop.")
            system = LocalSystem(process, banner, image_port, api_port, gateway_port)
            # Keep reading: a full pipe would block the services on their next log line.
            reader = threading.Thread(target=_drain, args=(process, system.lines), daemon=True)
            reader.start()
            yield system
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()


def _drain(process: subprocess.Popen[str], lines: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)


def wait_for_line(process: subprocess.Popen[str], wanted: str, timeout: float = 40) -> str:
    assert process.stdout is not None
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if wanted in line:
            return "".join(seen)
    raise AssertionError("never saw {!r} in:\n{}".format(wanted, "".join(seen)))
