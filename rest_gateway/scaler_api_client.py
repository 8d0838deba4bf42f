"""The gateway's one long-lived channel to the ImageScaler API (the public contract only)."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

from PIL import Image

from grpc_stubs import imagescaler_pb2 as api_pb
from grpc_stubs import imagescaler_pb2_grpc as api_grpc
from imagescaler.runtime.errors import UpstreamError
from imagescaler.runtime.grpc_client import UpstreamClient
from rest_gateway.errors import from_upstream

MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


@dataclass(frozen=True)
class ScaledImage:
    content: bytes
    media_type: str
    width: int
    height: int
    api_milliseconds: float


class ScalerApiClient(UpstreamClient):
    """The gateway's channel to the ImageScaler API, opened inside the serving event loop."""

    peer = "image API"
    reason_prefix = "api"

    async def scale(self, content: bytes = b"", url: str = "") -> ScaledImage:
        image = api_pb.Image(content=content, source=api_pb.ImageSource(http_uri=url))
        started = time.perf_counter()
        try:
            # The channel's interceptor passes the request id on.
            reply = await self.call(
                api_grpc.ImageScalerStub(self.channel).ScaleImage,
                api_pb.ScaleImageRequest(image=image),
            )
        except UpstreamError as error:
            raise from_upstream(error) from None
        elapsed = (time.perf_counter() - started) * 1000
        return describe(reply.content, elapsed)


def describe(content: bytes, api_milliseconds: float) -> ScaledImage:
    """Media type and size of the API's answer, from its header."""
    with Image.open(io.BytesIO(content)) as image:
        media_type = MEDIA_TYPES.get(image.format or "", "application/octet-stream")
        return ScaledImage(content, media_type, image.width, image.height, api_milliseconds)
