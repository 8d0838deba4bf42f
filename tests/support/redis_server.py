"""A Redis server of the tests' own, on a free loopback port, keeping nothing on disk: the
shared rate-limit tests do not depend on a Redis the machine happens to run on 6379."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from tests.support.waiting import wait_until

REDIS_SERVER = "redis-server"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def redis_server() -> Iterator[str]:
    """A started redis-server (which must be installed); yields its redis:// URL."""
    port = free_port()
    server = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", "/tmp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return bool(redis.Redis.from_url(url, socket_connect_timeout=0.2).ping())
        except redis.RedisError:
            return server.poll() is not None and _raise_exited(server)

    try:
        wait_until(answers, 10, f"redis-server on port {port}")
        yield url
    finally:
        server.terminate()
        server.wait(10)


def _raise_exited(server: subprocess.Popen[bytes]) -> bool:
    raise RuntimeError(f"redis-server exited with {server.returncode}")
