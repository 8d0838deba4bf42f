"""The three services started from a command (an installed venv's, or a container image's),
each on port 0, with the bound ports read from their own log lines."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

# Every service says where it bound: "<service> listening on <address> (port N)".
LISTENING = re.compile(r"\blistening on \S+ \(port (\d+)\)")


@dataclass
class ServiceProcess:
    """A service and everything it printed, read continuously so its pipe never fills."""

    name: str
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _reader: threading.Thread | None = None

    def start_reading(self) -> None:
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, pattern: re.Pattern[str], timeout: float = 60) -> re.Match[str]:
        """The first line matching `pattern`; fails when the process exits or time runs out."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    if match := pattern.search(line):
                        return match
                remaining = deadline - time.monotonic()
                if self.process.poll() is not None or remaining <= 0:
                    break
                self._changed.wait(min(remaining, 0.5))
        state = f"exited with {self.process.returncode}" if self.process.poll() is not None else ""
        raise AssertionError(
            f"{self.name} never printed {pattern.pattern!r} {state}:\n{''.join(self.lines)}"
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self._reader is not None:
            self._reader.join(10)  # it ends at the pipe's end, once the process is gone
        if self.process.stdout is not None:
            self.process.stdout.close()


@dataclass(frozen=True)
class Ports:
    image_service: int
    api: int
    gateway: int


def start(
    name: str, command: Sequence[str], env: dict[str, str] | None, cwd: Path | None
) -> ServiceProcess:
    process = subprocess.Popen(
        list(command),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    service = ServiceProcess(name, process)
    service.start_reading()
    return service


@contextmanager
def three_services(
    commands: dict[str, Sequence[str]], env: dict[str, str] | None = None, cwd: Path | None = None
) -> Iterator[tuple[Ports, list[ServiceProcess]]]:
    """Start image service, API and gateway in order. `commands` holds each one's command
    without the flags that link them; those are appended here, pointing at port 0 and at the
    ports the one behind it reported."""
    started: list[ServiceProcess] = []
    try:
        image = start("image service", [*commands["image-service"], *LOOPBACK_PORTS], env, cwd)
        started.append(image)
        image_port = int(image.wait_for(LISTENING)[1])
        api = start(
            "API",
            [*commands["api"], *LOOPBACK_PORTS, "--image-service", f"127.0.0.1:{image_port}"],
            env,
            cwd,
        )
        started.append(api)
        api_port = int(api.wait_for(LISTENING)[1])
        gateway = start(
            "gateway",
            [*commands["gateway"], *LOOPBACK_PORTS, "--api", f"127.0.0.1:{api_port}"],
            env,
            cwd,
        )
        started.append(gateway)
        gateway_port = int(gateway.wait_for(LISTENING)[1])
        yield Ports(image_port, api_port, gateway_port), started
    finally:
        for service in reversed(started):
            service.stop()


# Every service on ports the system picks, its metrics too: a running `make run` holds the defaults.
LOOPBACK_PORTS = ("--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0")
