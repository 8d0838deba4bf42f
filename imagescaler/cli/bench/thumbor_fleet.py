"""Thumbor for comparison: its own virtualenv from PyPI, file loader, no result storage."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

VENV = Path(".bench") / "thumbor-venv"
CONFIG = """\
LOADER = 'thumbor.loaders.file_loader'
FILE_LOADER_ROOT_PATH = {root!r}
STORAGE = 'thumbor.storages.no_storage'
RESULT_STORAGE = None
RESPECT_ORIENTATION = True
ALLOW_UNSAFE_URL = True
QUALITY = 90
MAX_WIDTH = 0
MAX_HEIGHT = 0
"""


def free_port() -> int:
    """A port free now, for thumbor, which must be told its port before it starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ensure_thumbor(log: Path) -> Path | None:
    """The thumbor command, installing it first when needed; None if it cannot be had."""
    command = VENV / "bin" / "thumbor"
    if command.exists():
        return command
    with log.open("w") as output:
        made = subprocess.run(
            [sys.executable, "-m", "venv", str(VENV)], stdout=output, stderr=output, check=False
        )
        if made.returncode == 0:
            subprocess.run(
                [str(VENV / "bin" / "pip"), "install", "--quiet", "thumbor"],
                stdout=output,
                stderr=output,
                check=False,
            )
    return command if command.exists() else None


@contextmanager
def thumbor_fleet(
    command: Path, images: Path, processes: int, workdir: Path
) -> Iterator[list[int]]:
    """`processes` thumbor servers on free ports, stopped on the way out."""
    config = workdir / "thumbor.conf"
    config.write_text(CONFIG.format(root=str(images.resolve())))
    ports = [free_port() for _ in range(processes)]
    servers = [
        subprocess.Popen(
            [str(command), "--ip", "127.0.0.1", "--port", str(port), "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        for port in ports:
            _wait_for(port)
        yield ports
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(10)


def _wait_for(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthcheck", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"thumbor did not start on port {port}")
