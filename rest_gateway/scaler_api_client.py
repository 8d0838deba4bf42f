"""The gateway's one long-lived channel to the ImageScaler API (the public contract only).

An upload is never copied into a request message: the small fields are serialised alone and
the image written after them as its field on the wire (`with_field`). Building the messages
and serialising them held a 21 MB upload five times over while it was forwarded (the route's
bytes, the Image, the request, its serialised form, gRPC's own copy); now it is held twice
(the request's bytes and gRPC's copy), which is what the gateway's admission by bytes counts
on (docs/security.md, Memory)."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message
from PIL import Image

from grpc_stubs import imagescaler_pb2 as api_pb
from grpc_stubs import preprocess_v1_pb2 as pre_pb
from imagescaler.grpc_runtime.client import UpstreamClient
from imagescaler.imaging.encoding import OUTPUT_FORMATS
from imagescaler.messages import with_field
from imagescaler.runtime.errors import UpstreamError
from rest_gateway.errors import from_upstream
from rest_gateway.image_body import ImageBody

_SCALER = api_pb.DESCRIPTOR.services_by_name["ImageScaler"].full_name
_PREPROCESSOR = pre_pb.DESCRIPTOR.services_by_name["Preprocessor"].full_name


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

    async def scale(self, body: ImageBody, token: str | None) -> ScaledImage:
        fields = api_pb.ScaleImageRequest(
            image=api_pb.Image(source=api_pb.ImageSource(http_uri=body.url))
        )
        request = with_field(fields, "image.content", body.take())
        started = time.perf_counter()
        reply = await self._call(
            f"/{_SCALER}/ScaleImage", request, api_pb.ScaleImageReply.FromString, token
        )
        elapsed = (time.perf_counter() - started) * 1000
        return describe(reply.content, elapsed)

    async def preprocess(
        self, body: ImageBody, profile: str, token: str | None
    ) -> tuple[pre_pb.PreprocessReply, float]:
        """The API's Preprocess, and the milliseconds it took."""
        request = image_request(pre_pb.PreprocessRequest(profile=profile), body)
        started = time.perf_counter()
        reply: pre_pb.PreprocessReply = await self._call(
            f"/{_PREPROCESSOR}/Preprocess", request, pre_pb.PreprocessReply.FromString, token
        )
        return reply, (time.perf_counter() - started) * 1000

    async def list_profiles(self, token: str | None) -> pre_pb.ListProfilesReply:
        request = pre_pb.ListProfilesRequest().SerializeToString()
        reply: pre_pb.ListProfilesReply = await self._call(
            f"/{_PREPROCESSOR}/ListProfiles", request, pre_pb.ListProfilesReply.FromString, token
        )
        return reply

    async def inspect(self, body: ImageBody, token: str | None) -> pre_pb.InspectReply:
        request = image_request(pre_pb.InspectRequest(), body)
        reply: pre_pb.InspectReply = await self._call(
            f"/{_PREPROCESSOR}/Inspect", request, pre_pb.InspectReply.FromString, token
        )
        return reply

    async def _call(
        self, path: str, request: bytes, parse: Callable[[bytes], Any], token: str | None
    ) -> Any:
        """A unary call sending `request` as it is (already serialised), its reply parsed;
        the caller's `token` goes with it, for an API that asks for one."""
        method = self.channel.unary_unary(
            path, request_serializer=None, response_deserializer=parse
        )
        try:
            return await self.call(method, request, token)
        except UpstreamError as error:
            raise from_upstream(error) from None


def image_request(fields: Message, body: ImageBody) -> bytes:
    """A request whose `image` is an ImageInput: the URL in `fields`, or the upload written
    after them."""
    if body.url:
        fields.image.url = body.url  # type: ignore[attr-defined]
        return fields.SerializeToString()
    return with_field(fields, "image.content", body.take())


def describe(content: bytes, api_milliseconds: float) -> ScaledImage:
    """Media type and size of the API's answer, from its header."""
    with Image.open(io.BytesIO(content)) as image:
        known = OUTPUT_FORMATS.get(image.format or "")
        media_type = known.media_type if known else "application/octet-stream"
        return ScaledImage(content, media_type, image.width, image.height, api_milliseconds)
