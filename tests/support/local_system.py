"""`imagescaler up` as a user runs it, every service on port 0, for the tests that need the
whole system: the real ports come from its banner."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.paths import ROOT
from tests.support.processes import ServiceProcess

IMAGESCALER = [sys.executable, "-m", "imagescaler"]
BANNER_END = re.compile(r"Press Ctrl-C to stop\.")
ADDRESSES = {
    "gateway": re.compile(r"REST \+ docs\s+http://127\.0\.0\.1:(\d+)/docs"),
    "api": re.compile(r"\n  API\s+127\.0\.0\.1:(\d+)"),
    "image": re.compile(r"image service\s+127\.0\.0\.1:(\d+)"),
}
METRICS = re.compile(
    r"metrics\s+http://127\.0\.0\.1:(\d+)/metrics, http://127\.0\.0\.1:(\d+)/metrics, "
    r"http://127\.0\.0\.1:(\d+)/metrics"
)


@dataclass
class LocalSystem:
    service: ServiceProcess
    banner: str
    image_port: int
    api_port: int
    gateway_port: int
    metrics_ports: dict[str, int] = field(default_factory=dict)  # "gateway", "api", "image"

    @property
    def process(self) -> subprocess.Popen[str]:
        return self.service.process

    @property
    def output(self) -> str:
        """Everything the system printed so far (read continuously, so it never blocks)."""
        return "".join(self.service.lines)

    @property
    def ports(self) -> tuple[int, int, int]:
        return self.image_port, self.api_port, self.gateway_port


@contextmanager
def local_system(
    dev_state: Path | None = None,
    extra_env: dict[str, str] | None = None,
    up_args: tuple[str, ...] = (),
) -> Iterator[LocalSystem]:
    """Start `imagescaler up` and wait for its banner; stop it on the way out if still running."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGESCALER_")}
    for variable in ("IMAGE_LISTEN", "API_LISTEN", "GATEWAY_LISTEN"):
        env[f"IMAGESCALER_{variable}"] = "127.0.0.1:0"
    for variable in ("IMAGE_METRICS_LISTEN", "API_METRICS_LISTEN", "GATEWAY_METRICS_LISTEN"):
        env[f"IMAGESCALER_{variable}"] = "127.0.0.1:0"  # not 9101-9103: `make run` may hold them
    env.update(extra_env or {})
    if dev_state is not None:
        env["IMAGESCALER_GATEWAY_DEV_STATE_FILE"] = str(dev_state)
    process = subprocess.Popen(
        [*IMAGESCALER, "up", *up_args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=ROOT,
    )
    service = ServiceProcess("imagescaler up", process)
    service.start_reading()
    try:
        service.wait_for(BANNER_END, timeout=60)
        banner = "".join(service.lines)
        ports = {name: int(pattern.search(banner)[1]) for name, pattern in ADDRESSES.items()}  # type: ignore[index]
        metrics = METRICS.search(banner)
        metrics_ports = (
            {"gateway": int(metrics[1]), "api": int(metrics[2]), "image": int(metrics[3])}
            if metrics
            else {}
        )
        yield LocalSystem(
            service, banner, ports["image"], ports["api"], ports["gateway"], metrics_ports
        )
    finally:
        service.stop()
