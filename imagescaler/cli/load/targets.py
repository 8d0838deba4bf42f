"""What the load runner calls: the gRPC API, the REST gateway and thumbor, one client per
worker."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import httpx

from grpc_stubs import imagescaler_pb2 as api_pb
from grpc_stubs import imagescaler_pb2_grpc as api_grpc
from imagescaler.grpc_runtime.auth import bearer_metadata
from imagescaler.grpc_runtime.options import CLIENT_MESSAGE_LIMIT, message_size_options

Request = Callable[[], None]  # one request; raises on failure
RequestFactory = Callable[[int], Request]  # worker number -> that worker's request (own client)


class RequestFailed(Exception):
    pass


def grpc_api(address: str, data: bytes, token: str | None = None) -> RequestFactory:
    """ScaleImage calls, with `token` for an API that asks for one."""
    metadata = bearer_metadata(token)

    def make(worker: int) -> Request:
        # One channel per worker, as separate clients would have.
        channel = grpc.insecure_channel(
            address,
            options=[
                *message_size_options(CLIENT_MESSAGE_LIMIT),
                ("grpc.use_local_subchannel_pool", 1),
            ],
        )
        stub = api_grpc.ImageScalerStub(channel)
        request = api_pb.ScaleImageRequest(image=api_pb.Image(content=data))

        def call() -> None:
            stub.ScaleImage(request, timeout=60, metadata=metadata)

        return call

    return make


def rest_gateway(base_url: str, token: str, data: bytes) -> RequestFactory:
    def make(worker: int) -> Request:
        client = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )

        def call() -> None:
            reply = client.post("/v1/scale", files={"file": ("photo.jpg", data, "image/jpeg")})
            if reply.status_code != 200:
                raise RequestFailed(f"HTTP {reply.status_code}")

        return call

    return make


def thumbor(ports: list[int], image: Path) -> RequestFactory:
    path = f"/unsafe/1024x768/filters:grayscale():quality(90)/{image.name}"

    def make(worker: int) -> Request:
        # Workers are spread over the thumbor processes, one per core.
        client = httpx.Client(base_url=f"http://127.0.0.1:{ports[worker % len(ports)]}", timeout=60)

        def call() -> None:
            reply = client.get(path)
            if reply.status_code != 200:
                raise RequestFailed(f"HTTP {reply.status_code}")

        return call

    return make
