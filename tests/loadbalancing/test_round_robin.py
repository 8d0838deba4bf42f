"""Per-request balancing across image service replicas, on loopback: no cluster needed."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from dnslib import QTYPE, RR, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from imagescaler.grpc_runtime.server import RunningServer
from tests.support.images import shared_image
from tests.support.loop import LoopThread
from tests.support.servers import ScaleClient

pytestmark = pytest.mark.slow

PHOTO = shared_image("hotdog_1400x1316.jpg")


def handled(replica: RunningServer) -> int:
    text = httpx.get(f"http://127.0.0.1:{replica.metrics_port}/metrics", timeout=5).text
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in text.splitlines()
        if line.startswith("grpc_server_handled_total{") and 'grpc_method="Preprocess"' in line
    )


def test_sixty_requests_reach_every_replica_fairly(
    start_image_service: Callable[..., RunningServer], start_api: Callable[..., RunningServer]
) -> None:
    replicas = [start_image_service() for _ in range(3)]
    targets = ",".join(f"127.0.0.1:{r.port}" for r in replicas)
    client = ScaleClient(start_api(image_service=f"ipv4:{targets}").port)
    for _ in range(60):
        client.scale(PHOTO)
    shares = [handled(r) for r in replicas]
    assert sum(shares) == 60
    assert all(18 <= share <= 22 for share in shares), shares  # round robin: 20 each


def test_a_replica_stopped_during_a_load_run_fails_no_request(
    loop_thread: LoopThread,
    start_image_service: Callable[..., RunningServer],
    start_api: Callable[..., RunningServer],
) -> None:
    replicas = [start_image_service() for _ in range(3)]
    targets = ",".join(f"127.0.0.1:{r.port}" for r in replicas)
    client = ScaleClient(start_api(image_service=f"ipv4:{targets}").port)
    failures: list[Exception] = []
    done = 0
    lock = threading.Lock()
    a_quarter_done = threading.Event()

    def worker() -> None:
        nonlocal done
        for _ in range(15):
            try:
                client.scale(PHOTO)
            except Exception as error:
                failures.append(error)
            with lock:
                done += 1
                if done >= 15:
                    a_quarter_done.set()

    workers = [threading.Thread(target=worker) for _ in range(4)]
    for thread in workers:
        thread.start()
    assert a_quarter_done.wait(60), "15 of 60 requests never completed"
    replicas[0].drain_delay = 0.5  # as on SIGTERM: NOT_SERVING, new work refused, then stop
    loop_thread.run(replicas[0].stop(5))
    for thread in workers:
        thread.join()
    assert not failures
    assert done == 60


class Records(BaseResolver):  # type: ignore[misc]
    """A DNS server's answers for one name, changed by the test as replicas come and go."""

    def __init__(self, addresses: list[str]) -> None:
        self.addresses = addresses

    def resolve(self, request: Any, handler: Any) -> Any:
        reply = request.reply()
        if QTYPE[request.q.qtype] == "A":
            for address in self.addresses:
                reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(address), ttl=1))
        return reply


@pytest.fixture
def dns() -> Iterator[tuple[int, Records]]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    records = Records([])
    server = DNSServer(
        records, port=port, address="127.0.0.1", logger=DNSLogger(logf=lambda *_: None)
    )
    server.start_thread()
    yield port, records
    server.stop()
    server.server.server_close()  # stop() leaves the UDP socket open


def free_port_on_all(addresses: list[str]) -> int:
    """A port free on every one of these loopback addresses."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((addresses[0], 0))
            port = int(probe.getsockname()[1])
        try:
            for address in addresses[1:]:
                with socket.socket() as other:
                    other.bind((address, port))
            return port
        except OSError:
            continue
    raise RuntimeError("no common free port")


def test_a_replica_started_later_receives_traffic_within_the_max_connection_age(
    dns: tuple[int, Records],
    start_image_service: Callable[..., RunningServer],
    start_api: Callable[..., RunningServer],
) -> None:
    dns_port, records = dns
    hosts = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
    port = free_port_on_all(hosts)
    max_age = 2.0
    first = [
        start_image_service(listen=f"{host}:{port}", max_connection_age=max_age)
        for host in hosts[:2]
    ]
    records.addresses = hosts[:2]
    api = start_api(image_service=f"dns://127.0.0.1:{dns_port}/images.test:{port}")
    client = ScaleClient(api.port)
    for _ in range(6):
        client.scale(PHOTO)
    assert all(handled(replica) > 0 for replica in first)
    late = start_image_service(listen=f"{hosts[2]}:{port}", max_connection_age=max_age)
    records.addresses = hosts
    started = time.monotonic()
    # Re-resolution follows the GOAWAY at max age, at most every 5 s (grpc_runtime/options.py).
    while handled(late) == 0 and time.monotonic() - started < 20:
        client.scale(PHOTO)
    waited = time.monotonic() - started
    assert handled(late) > 0, "the new replica never received traffic"
    assert waited < max_age + 60 / 10 + 5  # max age + its grace share + the re-resolution floor
