"""Faults under load: a replica killed, a hung replica, SIGTERM while busy, overload."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from grpc_stubs import image_service_v1_pb2_grpc as pb_grpc
from imagescaler.grpc_runtime.server import RunningServer
from tests.hardening.processes import image_service_processes
from tests.support.gateway import GatewayThread
from tests.support.images import shared_image
from tests.support.loop import LoopThread
from tests.support.scaling import default_job
from tests.support.servers import CLIENT_OPTIONS, ScaleClient
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

PHOTO = shared_image("hotdog_1400x1316.jpg")


def test_a_replica_killed_mid_run_costs_no_request(start_api: Callable[..., RunningServer]) -> None:
    """Under the load client's own profile (imagescaler load), SIGKILL one of two replicas."""
    from imagescaler.cli.load.profile import Profile
    from imagescaler.cli.load.recorder import Recorder, summarise
    from imagescaler.cli.load.runner import run_concurrency
    from imagescaler.cli.load.targets import grpc_api

    with image_service_processes(2) as (first, second):
        api = start_api(image_service=f"ipv4:{first.address},{second.address}")
        profile = Profile(warmup=0.5, ramp_up=0.5, hold=3.0, ramp_down=0.5, peak=4)
        recorder = Recorder()
        killer = threading.Timer(1.5, first.process.send_signal, args=(signal.SIGKILL,))
        killer.start()
        began = time.monotonic()
        run_concurrency(grpc_api(f"127.0.0.1:{api.port}", PHOTO), profile, recorder, began)
        summary = summarise(recorder.snapshot(), time.monotonic() - began)
        assert first.process.wait(5) == -signal.SIGKILL
        after_kill = [o for o in recorder.snapshot() if o.started > 1.6]
    assert summary["errors"] == 0, summary["errors_by_status"]
    assert summary["requests"] > 40 and len(after_kill) > 20


def test_the_only_replica_down_is_unavailable_at_once(
    start_api: Callable[..., RunningServer], start_gateway: Callable[..., GatewayThread], token: str
) -> None:
    with image_service_processes(1) as (only,):
        api = start_api(image_service=only.address)
        only.stop()
        started = time.monotonic()
        error = ScaleClient(api.port).error(PHOTO)
        assert error.code() == grpc.StatusCode.UNAVAILABLE
        assert time.monotonic() - started < 2
        gateway = start_gateway(api=f"127.0.0.1:{api.port}")
        with gateway.client(headers={"Authorization": f"Bearer {token}"}) as http:
            reply = http.post("/v1/scale", files={"file": ("p.jpg", PHOTO, "image/jpeg")})
        assert reply.status_code == 503 and reply.headers["retry-after"].isdigit()
        assert reply.json()["error"] == "image_service_unavailable"


def test_a_hung_replica_gives_deadline_exceeded_and_leaks_nothing(
    loop_thread: LoopThread,
    start_api: Callable[..., RunningServer],
    start_gateway: Callable[..., GatewayThread],
    token: str,
) -> None:
    with image_service_processes(1) as (hung,):
        api = start_api(image_service=hung.address, image_service_timeout=1.0)
        client = ScaleClient(api.port)
        client.scale(PHOTO)  # connected and warm
        hung.process.send_signal(signal.SIGSTOP)
        try:
            started = time.monotonic()
            error = client.error(PHOTO)
            assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            assert "did not answer within 1 s" in (error.details() or "")
            assert time.monotonic() - started < 3
            gateway = start_gateway(api=f"127.0.0.1:{api.port}")
            with gateway.client(headers={"Authorization": f"Bearer {token}"}) as http:
                reply = http.post("/v1/scale", files={"file": ("p.jpg", PHOTO, "image/jpeg")})
            assert reply.status_code == 504
            client.error(PHOTO)  # settle: every long-lived stream is open by now
            tasks_before = loop_thread.run(_task_count())
            threads_before = threading.active_count()
            for _ in range(5):
                assert client.error(PHOTO).code() == grpc.StatusCode.DEADLINE_EXCEEDED
            # Five timed-out calls later, nothing is left behind.
            wait_until(
                lambda: (
                    loop_thread.run(_task_count()) <= tasks_before
                    and threading.active_count() <= threads_before
                ),
                5,
                "tasks and threads back to where they were",
            )
        finally:
            hung.process.send_signal(signal.SIGCONT)


async def _task_count() -> int:
    return len(asyncio.all_tasks())


def test_sigterm_drains_in_flight_work_and_refuses_new(tmp_path: object) -> None:
    with image_service_processes(
        1, "--workers", "1", "--queue-depth", "8", "--shutdown-grace", "10"
    ) as (service,):
        channel = grpc.insecure_channel(service.address, options=CLIENT_OPTIONS)
        stub = pb_grpc.ImageServiceStub(channel)
        request = default_job(shared_image("night_4000x6000.jpg"))
        in_flight = [stub.Preprocess.future(request, timeout=30) for _ in range(6)]
        # All six received before the signal: the service's own counter says so.
        wait_until(lambda: service.metric("grpc_server_started_total") >= 6, 20, "six received")
        service.process.send_signal(signal.SIGTERM)
        service.wait_until("NOT_SERVING", timeout=5)
        late = grpc.insecure_channel(service.address, options=CLIENT_OPTIONS)
        with pytest.raises(grpc.RpcError) as refused:
            pb_grpc.ImageServiceStub(late).Preprocess(request, timeout=5)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        assert all(call.result().geometry.output_size[0] == 1024 for call in in_flight)
        started = time.monotonic()
        assert service.process.wait(12) == 0
        assert time.monotonic() - started < 12
        channel.close()
        late.close()


def test_overload_through_the_gateway_is_a_fast_503(
    start_image_service: Callable[..., RunningServer],
    start_api: Callable[..., RunningServer],
    start_gateway: Callable[..., GatewayThread],
    token: str,
) -> None:
    image = start_image_service(workers=1, queue_depth=0)
    api = start_api(image_service=f"127.0.0.1:{image.port}")
    gateway = start_gateway(api=f"127.0.0.1:{api.port}")
    data = shared_image("night_4000x6000.jpg")

    def upload(_: int) -> tuple[int, float, dict[str, str]]:
        with gateway.client(headers={"Authorization": f"Bearer {token}"}) as http:
            started = time.monotonic()
            reply = http.post("/v1/scale", files={"file": ("p.jpg", data, "image/jpeg")})
            return reply.status_code, time.monotonic() - started, dict(reply.headers)

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(upload, range(6)))
    ok = [r for r in results if r[0] == 200]
    refused = [r for r in results if r[0] == 503]
    assert ok and refused and len(ok) + len(refused) == 6
    assert all(r[2]["retry-after"].isdigit() for r in refused)
    assert min(r[1] for r in refused) < max(r[1] for r in ok)
