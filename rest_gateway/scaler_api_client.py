"""The gateway's one long-lived channel to the ImageScaler API (the public contract only)."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from typing import Any

from PIL import Image

from grpc_stubs import imagescaler_pb2 as api_pb
from grpc_stubs import imagescaler_pb2_grpc as api_grpc
from grpc_stubs import preprocess_v1_pb2 as pre_pb
from grpc_stubs import preprocess_v1_pb2_grpc as pre_grpc
from imagescaler.imaging.encoding import OUTPUT_FORMATS
from imagescaler.runtime.errors import UpstreamError
from imagescaler.runtime.grpc_client import UpstreamClient
from rest_gateway.errors import from_upstream


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

    async def preprocess(
        self, content: bytes, url: str, profile: str
    ) -> tuple[pre_pb.PreprocessReply, float]:
        """The API's Preprocess, and the milliseconds it took."""
        request = pre_pb.PreprocessRequest(image=image_input(content, url), profile=profile)
        started = time.perf_counter()
        reply: pre_pb.PreprocessReply = await self._preprocessor_call("Preprocess", request)
        return reply, (time.perf_counter() - started) * 1000

    async def list_profiles(self) -> pre_pb.ListProfilesReply:
        reply: pre_pb.ListProfilesReply = await self._preprocessor_call(
            "ListProfiles", pre_pb.ListProfilesRequest()
        )
        return reply

    async def inspect(self, content: bytes, url: str) -> pre_pb.InspectReply:
        request = pre_pb.InspectRequest(image=image_input(content, url))
        reply: pre_pb.InspectReply = await self._preprocessor_call("Inspect", request)
        return reply

    async def _preprocessor_call(self, method: str, request: object) -> Any:
        try:
            return await self.call(
                getattr(pre_grpc.PreprocessorStub(self.channel), method), request
            )
        except UpstreamError as error:
            raise from_upstream(error) from None


def image_input(content: bytes, url: str) -> pre_pb.ImageInput:
    return pre_pb.ImageInput(content=content) if content else pre_pb.ImageInput(url=url)


def describe(content: bytes, api_milliseconds: float) -> ScaledImage:
    """Media type and size of the API's answer, from its header."""
    with Image.open(io.BytesIO(content)) as image:
        known = OUTPUT_FORMATS.get(image.format or "")
        media_type = known.media_type if known else "application/octet-stream"
        return ScaledImage(content, media_type, image.width, image.height, api_milliseconds)
