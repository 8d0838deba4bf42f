"""Nothing blocks the API's event loop: its health check answers within 100 ms while hostile
files are refused and eight downloads drip one byte at a time. The three services and the
dripping server are real processes, so no GIL is shared with the probe."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import httpcore
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from grpc_api.download import SMALL_READ_PAUSE, CheckedBackend, Downloader
from grpc_api.url_policy import AddressPolicy
from imagescaler.runtime.errors import DownloadFailed
from tests.hardening.processes import api_process
from tests.support import hostile_files
from tests.support.images import shared_image
from tests.support.servers import LocalHttpServer, Route, ScaleClient

pytestmark = pytest.mark.slow

HOSTILE = {
    "jpeg_7000_scans": lambda: hostile_files.jpeg_scan_bomb(7000, side=1024),
    "tiff_1m_strips": lambda: hostile_files.tiff_with_strips(1_000_000),
    "bmp_rle_49mp": lambda: hostile_files.bmp_rle8_end_of_lines(7000, 7000),
    "webp_anim_7000": lambda: hostile_files.animated_webp_canvas(7000, 7000),
    "png_rgba_50mp": lambda: hostile_files.png_streamed(7000, 7000),
    "gif_grown_49mp": lambda: hostile_files.gif_grown_by_first_frame(7000, 7000),
}


@pytest.fixture(scope="module")
def drip_port() -> Iterator[int]:
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.support.drip_server", "--pause", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    with server.stdout:
        yield int(server.stdout.readline())
        server.kill()
        server.wait()


def probe_health(address: str, until: threading.Event) -> list[float]:
    """Seconds each health check took, one every 20 ms on one warm channel, until `until`."""
    latencies: list[float] = []
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
        while not until.is_set():
            started = time.perf_counter()
            stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
            latencies.append(time.perf_counter() - started)
            until.wait(0.02)
    return latencies


def in_threads(jobs: list[Callable[[], None]]) -> None:
    threads = [threading.Thread(target=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)


def test_the_apis_health_answers_within_100_ms_during_an_attack(drip_port: int) -> None:
    files = {name: build() for name, build in HOSTILE.items()}
    outcomes: dict[str, str] = {}
    with api_process("--allow-private-urls", "true", "--download-timeout", "4") as (address, _):
        client = ScaleClient(int(address.rsplit(":", 1)[1]))

        def send(name: str, content: bytes = b"", url: str = "") -> Callable[[], None]:
            def call() -> None:
                started = time.perf_counter()
                try:
                    client.scale(content, url)
                    outcome = "OK"
                except grpc.RpcError as error:
                    outcome = f"{error.code().name} ({error.details()})"
                outcomes[name] = f"{time.perf_counter() - started:.2f} s: {outcome}"

            return call

        drips = [send(f"drip {n}", url=f"http://127.0.0.1:{drip_port}/{n}") for n in range(8)]
        bombs = [send(name, content=data) for name, data in files.items()]
        done = threading.Event()
        latencies: list[float] = []
        prober = threading.Thread(target=lambda: latencies.extend(probe_health(address, done)))
        prober.start()
        in_threads([*drips, *bombs])
        done.set()
        prober.join()
        client.channel.close()
    worst = max(latencies)
    print(
        f"health during the attack: {len(latencies)} checks, "
        f"p50 {statistics.median(latencies) * 1000:.1f} ms, max {worst * 1000:.1f} ms"
    )
    for name, outcome in sorted(outcomes.items()):
        print(f"  {name}: {outcome}")
    assert all("FAILED_PRECONDITION" in o for n, o in outcomes.items() if "drip" in n)
    # Each hostile file is refused with a clear error, or is a legitimate image within budget.
    assert all(
        o.endswith("OK") or "INVALID_ARGUMENT" in o for n, o in outcomes.items() if n in files
    )
    assert worst < 0.1, f"a health check took {worst * 1000:.0f} ms"


class CountingBackend(httpcore.AsyncNetworkBackend):
    """The real network backend, counting the reads made on its streams; `read_cap` makes each
    read return at most that many bytes, as TLS returns one record per read."""

    def __init__(self, read_cap: int | None = None) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.reads = 0
        self.read_cap = read_cap

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        stream = await self.inner.connect_tcp(*args, **kwargs)
        backend = self

        class Counted(httpcore.AsyncNetworkStream):
            async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
                backend.reads += 1
                return await stream.read(min(max_bytes, backend.read_cap or max_bytes), timeout)

            async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
                await stream.write(buffer, timeout)

            async def aclose(self) -> None:
                await stream.aclose()

        return Counted()

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def test_a_dripping_server_costs_two_hundred_reads_a_second_not_a_core(drip_port: int) -> None:
    counting = CountingBackend()
    policy = AddressPolicy(allow_private=True)

    async def go() -> None:
        backend = CheckedBackend(policy, inner=counting)
        downloader = Downloader(20_000_000, 1.0, 1.0, 0, policy, backend=backend)
        try:
            with pytest.raises(DownloadFailed, match="took longer than the limit of 1 s"):
                await downloader.fetch(f"http://127.0.0.1:{drip_port}/drip.jpg")
        finally:
            await downloader.close()

    asyncio.run(go())
    print(f"reads in 1 s of dripping: {counting.reads}")
    # A pause, then one read of what gathered meanwhile (often over 1 KiB, so no pause), then
    # a tiny one: about two reads per pause. Unpaced, this server cost 8,525 reads a second.
    assert 10 < counting.reads <= 2 / SMALL_READ_PAUSE + 20


def test_legitimate_requests_keep_their_pace_while_two_hostile_files_are_in_flight() -> None:
    photo = shared_image("bird_1920x1080.jpg")
    attack = [HOSTILE["png_rgba_50mp"](), HOSTILE["jpeg_7000_scans"]()]

    def p50(client: ScaleClient, count: int = 12) -> float:
        times = []
        for _ in range(count):
            started = time.perf_counter()
            client.scale(photo)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    with api_process() as (address, _):
        port = int(address.rsplit(":", 1)[1])
        client = ScaleClient(port)
        client.scale(photo)  # warm
        baseline = p50(client)
        stop = threading.Event()
        answered = threading.Semaphore(0)  # released once per attacker, after its first call

        def attacker(data: bytes) -> None:
            hostile = ScaleClient(port, own_connection=True)
            first = True
            while not stop.is_set():
                with contextlib.suppress(grpc.RpcError):
                    hostile.scale(data)
                if first:
                    answered.release()
                    first = False
            hostile.channel.close()

        threads = [threading.Thread(target=attacker, args=(data,)) for data in attack]
        for thread in threads:
            thread.start()
        try:
            for _ in threads:  # measure under attack: every attacker has had an answer
                assert answered.acquire(timeout=60), "an attacker got no answer"
            during = p50(client)
        finally:  # a failed wait must not leave the attackers running (pytest would hang)
            stop.set()
            for thread in threads:
                thread.join(30)
            client.channel.close()
    print(f"legitimate p50: {baseline * 1000:.0f} ms alone, {during * 1000:.0f} ms under attack")
    assert during < 3 * baseline


def test_record_sized_reads_of_a_fast_server_are_never_paced(http_server: LocalHttpServer) -> None:
    """Over TLS each read returns one record, often about 1,400 bytes: pacing those would take
    a 1 MB download from 0.1 s to 7 s."""
    http_server.routes["/big.jpg"] = Route(body=b"x" * 1_000_000)
    counting = CountingBackend(read_cap=1400)
    policy = AddressPolicy(allow_private=True)

    async def go() -> bytes:
        backend = CheckedBackend(policy, inner=counting)
        downloader = Downloader(20_000_000, 10.0, 1.0, 0, policy, backend=backend)
        try:
            return await downloader.fetch(http_server.url("/big.jpg"))
        finally:
            await downloader.close()

    started = time.perf_counter()
    assert len(asyncio.run(go())) == 1_000_000
    elapsed = time.perf_counter() - started
    print(f"1 MB in {counting.reads} reads of at most 1400 bytes: {elapsed:.2f} s")
    assert counting.reads > 700 and elapsed < counting.reads * SMALL_READ_PAUSE / 4
