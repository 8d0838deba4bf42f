"""A thin client for the image service: one long-lived channel, deadlines, errors passed on."""

from __future__ import annotations

from typing import Any

import grpc
from prometheus_client import CollectorRegistry

from grpc_stubs import image_service_v1_pb2_grpc as pb_grpc
from imagescaler.runtime.errors import UpstreamError
from imagescaler.runtime.grpc_interceptors import REASON_KEY
from imagescaler.runtime.grpc_server import create_channel


class ImageServiceClient:
    def __init__(
        self,
        target: str,
        max_message_bytes: int,
        timeout: float,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self._target = target
        self._timeout = timeout
        self._channel = create_channel(target, max_message_bytes, registry)
        self._stub = pb_grpc.ImageServiceStub(self._channel)

    async def process(self, request: Any) -> Any:
        """Call ImageService.Process; a failure becomes an UpstreamError with the same status."""
        try:
            return await self._stub.Process(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            raise self._upstream_error(error) from None

    def _upstream_error(self, error: Any) -> UpstreamError:
        code = error.code()
        if code == grpc.StatusCode.UNAVAILABLE:
            return UpstreamError(
                "UNAVAILABLE",
                f"the image service at {self._target} is unavailable; retry later",
                "image_service_unavailable",
            )
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return UpstreamError(
                "DEADLINE_EXCEEDED",
                f"the image service did not answer within {self._timeout:g} s",
                "image_service_timeout",
            )
        reason = dict(error.trailing_metadata() or ()).get(REASON_KEY, "image_service_error")
        return UpstreamError(code.name, error.details() or code.name.lower(), str(reason))

    async def close(self) -> None:
        await self._channel.close()
