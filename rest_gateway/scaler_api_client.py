"""The gateway's one long-lived channel to the ImageScaler API (the public contract only)."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from PIL import Image
from prometheus_client import CollectorRegistry

from grpc_stubs import imagescaler_pb2 as api_pb
from grpc_stubs import imagescaler_pb2_grpc as api_grpc
from imagescaler.runtime.grpc_interceptors import REASON_KEY
from imagescaler.runtime.grpc_server import create_channel
from rest_gateway.errors import GatewayError, from_grpc

MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


@dataclass(frozen=True)
class ScaledImage:
    content: bytes
    media_type: str
    width: int
    height: int
    api_milliseconds: float


class ApiClient:
    """Opens its channel on first use, inside the event loop that serves the requests."""

    def __init__(
        self,
        target: str,
        max_message_bytes: int,
        timeout: float,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self._target = target
        self._max_message_bytes = max_message_bytes
        self._timeout = timeout
        self._registry = registry
        self._channel: Any = None

    def _open(self) -> Any:
        if self._channel is None:
            self._channel = create_channel(self._target, self._max_message_bytes, self._registry)
        return self._channel

    @property
    def _stub(self) -> Any:
        return api_grpc.ImageScalerStub(self._open())

    @property
    def _health(self) -> Any:
        return health_pb2_grpc.HealthStub(self._open())

    async def scale(self, content: bytes = b"", url: str = "") -> ScaledImage:
        image = api_pb.Image(content=content, source=api_pb.ImageSource(http_uri=url))
        started = time.perf_counter()
        try:
            # The channel's interceptor passes the request id on.
            reply = await self._stub.ScaleImage(
                api_pb.ScaleImageRequest(image=image), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as error:
            raise _gateway_error(error) from None
        elapsed = (time.perf_counter() - started) * 1000
        return describe(reply.content, elapsed)

    async def ready(self) -> bool:
        try:
            reply = await self._health.Check(health_pb2.HealthCheckRequest(), timeout=2.0)
        except grpc.aio.AioRpcError:
            return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None


def describe(content: bytes, api_milliseconds: float) -> ScaledImage:
    """Media type and size of the API's answer, from its header."""
    with Image.open(io.BytesIO(content)) as image:
        media_type = MEDIA_TYPES.get(image.format or "", "application/octet-stream")
        return ScaledImage(content, media_type, image.width, image.height, api_milliseconds)


def _gateway_error(error: Any) -> GatewayError:
    code = error.code()
    reason = dict(error.trailing_metadata() or ()).get(REASON_KEY)
    if code == grpc.StatusCode.UNAVAILABLE and reason is None:
        return from_grpc(code, "api_unavailable", "the image API is unavailable; retry shortly")
    if code == grpc.StatusCode.DEADLINE_EXCEEDED and reason is None:
        return from_grpc(code, "api_timeout", "the image API did not answer in time")
    return from_grpc(code, reason, error.details() or code.name.lower())
