"""The local system's child processes: started in a session of their own, their output
forwarded (or dropped when quiet), and their bound ports read from their own log lines."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from imagescaler.cli.process_death import PARENT_PID_VARIABLE
from imagescaler.grpc_runtime.client import serving_at

# "<service> listening on <address> (port N)" and "<service> metrics on <address> (port N)"
PORT_LINE = re.compile(r"\b(listening|metrics) on \S+ \(port (\d+)\)")


class Child:
    """A started service; `ports` fills in as it reports them."""

    def __init__(self, name: str, process: subprocess.Popen[Any], quiet: bool = False) -> None:
        self.name = name
        self.process = process
        self.ports: dict[str, int] = {}
        self._reported = threading.Condition()
        self._forwarder = threading.Thread(target=self._forward, args=(quiet,), daemon=True)
        if process.stderr is not None:  # else it writes its own log (Prometheus)
            self._forwarder.start()

    def _forward(self, quiet: bool) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            if not quiet:
                sys.stderr.write(line)
            if match := PORT_LINE.search(line):
                with self._reported:
                    self.ports[match[1]] = int(match[2])
                    self._reported.notify_all()
        with self._reported:
            self._reported.notify_all()

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited with code {self.process.returncode}")

    def wait_for_port(self, kind: str, deadline: float) -> int:
        """The port it reported for `kind` ("listening" or "metrics")."""
        with self._reported:
            while kind not in self.ports:
                self.check_alive()
                if time.monotonic() >= deadline:
                    raise RuntimeError(f"{self.name} never said where it listens")
                self._reported.wait(max(0.0, min(0.5, deadline - time.monotonic())))
            return self.ports[kind]

    def address(self, kind: str = "listening") -> str:
        return f"127.0.0.1:{self.ports[kind]}"

    def stop(self, grace: float) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr is not None:
            self._forwarder.join(5)
            self.process.stderr.close()


def start_child(name: str, command: Sequence[str], quiet: bool = False) -> Child:
    """Start `command` in a session of its own (Ctrl-C reaches only `up`, which stops the
    children in order); the child stops itself if `up` dies (see process_death)."""
    process = subprocess.Popen(
        list(command),
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, PARENT_PID_VARIABLE: str(os.getpid())},
    )
    return Child(name, process, quiet)


def wait_until_serving(child: Child, deadline: float) -> None:
    """Wait for its port, then poll the gRPC health service until it says SERVING."""
    address = child.address() if "listening" in child.ports else None
    if address is None:
        child.wait_for_port("listening", deadline)
        address = child.address()
    while time.monotonic() < deadline:
        child.check_alive()
        if serving_at(address, timeout=1.0):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{child.name} did not become ready at {address}")


def wait_until_http_ready(child: Child, deadline: float) -> None:
    """Wait for its port, then poll /readyz until it answers 200."""
    child.wait_for_port("listening", deadline)
    while time.monotonic() < deadline:
        child.check_alive()
        try:
            with urllib.request.urlopen(f"http://{child.address()}/readyz", timeout=1) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{child.name} did not become ready at {child.address()}")


def stop_children(children: Sequence[Child], grace: float) -> None:
    """SIGTERM the front first so it drains, then the rest; SIGKILL what outlives the grace."""
    for child in reversed(children):
        child.stop(grace)
