"""JPEG XL CPU bombs: the decode runs in a child process the kernel stops at a CPU allowance,
and a job whose caller has gone is stopped (its child killed), so it stops holding a worker.

Round 3 found a 3.5 KB JXL with a 1,000-deep decode tree costing 13.9 s of CPU per decode;
six in flight took other users' p50 from 0.05 to 54.5 s, and jobs whose callers had gone
kept their workers. Such a tree cannot be written here (libjxl's jxl_from_tree is not in
Debian's libjxl-tools), so these tests use the 3.5 KB 7000x7000 fixture, which costs about
1.3 s of CPU to decode, against an allowance lowered to 0.3 s: the mechanism is the same."""

from __future__ import annotations

import asyncio
import resource
import signal
import statistics
import subprocess
import threading
import time

import grpc
import pytest

from grpc_stubs import image_service_v1_pb2 as image_pb
from grpc_stubs import image_service_v1_pb2_grpc as image_grpc
from image_service.worker_pool import WorkerPool
from imagescaler.imaging.builtin_profiles import BUILTIN_PROFILES
from imagescaler.imaging.formats import DEFAULT_LIMITS, Limits
from imagescaler.imaging.jxl_decoder import decode_jxl
from imagescaler.imaging.preprocess import preprocess
from imagescaler.imaging.structure import StructureLimits
from imagescaler.runtime.cancellation import Cancellation, run_cancellable
from imagescaler.runtime.errors import Cancelled, CorruptImage, ImageTooComplex, Overloaded
from tests.hardening.processes import image_service_processes
from tests.support.images import encode, open_bytes, shared_image
from tests.support.paths import ROOT
from tests.support.servers import CLIENT_OPTIONS
from tests.support.waiting import wait_until

SLOW = (ROOT / "tests" / "imaging" / "jxl" / "solid_7000x7000.jxl").read_bytes()
LOWERED = Limits(
    max_bytes=DEFAULT_LIMITS.max_bytes,
    max_pixels=DEFAULT_LIMITS.max_pixels,
    structure=StructureLimits(jxl_cpu_base_seconds=0.1, jxl_cpu_seconds_per_megapixel=0.004),
)  # 0.1 s + 0.004 s x 49 MP = 0.296 s


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class ChildSpy:
    """Keeps the decoder's child processes, to see how each ended."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.children: list[subprocess.Popen[bytes]] = []
        real = subprocess.Popen

        def spawn(*args: object, **kwargs: object) -> subprocess.Popen[bytes]:
            child = real(*args, **kwargs)  # type: ignore[call-overload]
            self.children.append(child)
            return child  # type: ignore[no-any-return]

        monkeypatch.setattr(subprocess, "Popen", spawn)


def test_a_decode_past_its_allowance_is_stopped_by_the_kernel_and_refused() -> None:
    before = children_cpu()
    with pytest.raises(ImageTooComplex, match=r"needs more than 0\.296 s of CPU to decode"):
        preprocess(SLOW, BUILTIN_PROFILES["yolo-640"], LOWERED)
    spent = children_cpu() - before
    print(f"decode stopped after {spent:.2f} s of CPU (allowance 0.3 s, whole decode ~1.3 s)")
    assert spent < 0.6  # the child's start (~0.02 s) and the allowance


def test_within_its_allowance_the_same_image_decodes() -> None:
    result = preprocess(SLOW, BUILTIN_PROFILES["yolo-640"])  # 2 s + 0.5 s x 49 MP
    assert result.array is not None and result.array.shape == (3, 640, 640)


def test_damaged_data_is_refused_with_the_decoders_reason() -> None:
    with pytest.raises(CorruptImage, match="JXL data is damaged or truncated"):
        preprocess(SLOW[:-600], BUILTIN_PROFILES["yolo-640"])


def test_cancelling_a_job_kills_its_decoder(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = ChildSpy(monkeypatch)
    cancellation = Cancellation()
    outcome: list[BaseException] = []

    def job() -> None:
        try:
            run_cancellable(cancellation, decode_jxl, SLOW, 60.0)
        except BaseException as error:
            outcome.append(error)

    worker = threading.Thread(target=job)
    worker.start()
    wait_until(lambda: bool(spy.children), 10, "the decoder's child starting")
    cancellation.cancel()
    worker.join(10)
    assert not worker.is_alive()
    assert isinstance(outcome[0], Cancelled)
    assert spy.children[0].returncode == -signal.SIGKILL


def test_a_job_whose_caller_goes_frees_its_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """One worker, no queue: while the JPEG XL decodes, a second job is refused; once the
    caller of the first goes, its child is killed and the worker takes new work."""
    spy = ChildSpy(monkeypatch)

    async def scenario() -> None:
        pool = WorkerPool(workers=1, queue_depth=0)
        profile = BUILTIN_PROFILES["yolo-640"]
        call = asyncio.ensure_future(pool.run(preprocess, SLOW, profile, DEFAULT_LIMITS))
        await asyncio.to_thread(wait_until, lambda: bool(spy.children), 10, "a child")
        with pytest.raises(Overloaded):
            await pool.run(int, "1")
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        while True:  # the worker frees once the killed decode returns
            try:
                assert await pool.run(int, "7") == 7
                break
            except Overloaded:
                await asyncio.sleep(0.01)
        pool.shutdown()

    asyncio.run(asyncio.wait_for(scenario(), timeout=30))
    assert spy.children[0].returncode == -signal.SIGKILL


def test_a_queued_job_whose_caller_goes_never_runs() -> None:
    started = threading.Event()
    release = threading.Event()
    ran: list[str] = []

    async def scenario() -> None:
        pool = WorkerPool(workers=1, queue_depth=1)

        def hold() -> None:
            started.set()
            release.wait(10)

        first = asyncio.ensure_future(pool.run(hold))
        await asyncio.to_thread(started.wait, 10)
        queued = asyncio.ensure_future(pool.run(ran.append, "queued"))
        await asyncio.sleep(0)  # let the queued call reach the pool
        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await queued
        release.set()
        await first
        assert await pool.run(ran.append, "after") is None
        pool.shutdown()

    asyncio.run(scenario())
    assert ran == ["after"]


def preprocess_call(address: str, image: bytes, timeout: float = 60) -> str:
    """One ImageService/Preprocess call on its own channel: OK or the status's name."""
    profile = BUILTIN_PROFILES["yolo-640"].model_dump_json()
    with grpc.insecure_channel(address, options=CLIENT_OPTIONS) as channel:
        stub = image_grpc.ImageServiceStub(channel)
        try:
            stub.Preprocess(
                image_pb.PreprocessJob(image=image, profile_json=profile), timeout=timeout
            )
        except grpc.RpcError as error:
            return error.code().name
    return "OK"


@pytest.mark.slow
def test_six_bombs_in_flight_leave_other_users_served() -> None:
    """The image service as deployed (a process, 2 workers, queue 8), the allowance lowered
    to 0.3 s: one user keeps six JPEG XL decodes in flight; others' p50 is printed against a
    baseline from the same run. Each bomb is stopped at its allowance and refused, and JPEG XL
    runs on all workers but one, so others are served by the free one."""
    photo = encode(open_bytes(shared_image("bird_1920x1080.jpg")).resize((640, 360)), "JPEG")
    flags = ["--workers", "2", "--jxl-cpu-base-seconds", "0.1"]
    with image_service_processes(1, *flags, "--jxl-cpu-seconds-per-megapixel", "0.004") as (
        service,
    ):

        def p50(count: int = 15) -> float:
            times = []
            for _ in range(count):
                started = time.perf_counter()
                assert preprocess_call(service.address, photo) == "OK"  # never refused
                times.append(time.perf_counter() - started)
            return statistics.median(times)

        p50(3)  # warm
        baseline = p50()
        stop = threading.Event()
        outcomes: list[str] = []

        def attacker() -> None:
            while not stop.is_set():
                outcomes.append(preprocess_call(service.address, SLOW))

        attackers = [threading.Thread(target=attacker) for _ in range(6)]
        for thread in attackers:
            thread.start()
        wait_until(lambda: len(outcomes) >= 6, 30, "the first bombs being refused")
        during = p50()
        stop.set()
        for thread in attackers:
            thread.join(30)
    print(
        f"others' p50: {baseline * 1000:.0f} ms alone, {during * 1000:.0f} ms with six JPEG XL "
        f"bombs in flight; bombs answered: {sorted(set(outcomes))} x{len(outcomes)}"
    )
    assert set(outcomes) <= {"INVALID_ARGUMENT", "RESOURCE_EXHAUSTED"}
    assert "INVALID_ARGUMENT" in outcomes
    # No duration is asserted (a loaded machine would flake it; the figures above are for a
    # person, and test_worker_pool.py proves the lane with events): every other user's call
    # was answered OK while the bombs were in flight, none refused for capacity.
