"""More requests than workers plus queue: the excess is refused at once, the rest succeed."""

from __future__ import annotations

from collections.abc import Callable

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from grpc_stubs import image_service_v1_pb2_grpc as pb_grpc
from imagescaler.grpc_runtime.server import RunningServer
from tests.support.images import shared_image
from tests.support.scaling import default_job
from tests.support.servers import CLIENT_OPTIONS


def test_excess_requests_get_resource_exhausted_quickly(
    start_image_service: Callable[..., RunningServer],
) -> None:
    service = start_image_service(workers=1, queue_depth=1)
    request = default_job(shared_image("night_4000x6000.jpg"))
    with grpc.insecure_channel(f"127.0.0.1:{service.port}", options=CLIENT_OPTIONS) as channel:
        stub = pb_grpc.ImageServiceStub(channel)
        finished: list[int] = []  # call indices in the order they ended; append is atomic
        calls = [stub.Preprocess.future(request, timeout=60) for _ in range(8)]
        for index, call in enumerate(calls):
            call.add_done_callback(lambda _, index=index: finished.append(index))
        outcomes: list[tuple[grpc.StatusCode, int]] = []
        for index, call in enumerate(calls):
            try:
                call.result()
                code = grpc.StatusCode.OK
            except grpc.RpcError as error:
                code = error.code()
                assert "at capacity" in (error.details() or "")
            outcomes.append((code, finished.index(index)))
        refused = [rank for code, rank in outcomes if code == grpc.StatusCode.RESOURCE_EXHAUSTED]
        succeeded = [rank for code, rank in outcomes if code == grpc.StatusCode.OK]
        assert len(succeeded) >= 2 and len(refused) >= 1
        assert len(succeeded) + len(refused) == 8
        # Refusals do not wait for the work in progress.
        assert min(refused) < max(succeeded)
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        assert stub.Preprocess(request, timeout=60).geometry.output_size[0] == 1024
