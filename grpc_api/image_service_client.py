"""The API's client of the image service: one long-lived channel, deadlines, errors passed on.

The image bytes are never copied into a request message: each request's small fields are
serialised alone and the image appended as its field on the wire (protobuf parsers take fields
in any order). Building the message and serialising it copied a 4 MB photo twice on the event
loop; an 8 MB PNG's copies took 6 ms of the API's time per request (docs/benchmarks.md). The
caller builds the job (`preprocess_job`) and lets its own image go before the call, so that
only the job is held while the image service works."""

from __future__ import annotations

from typing import Any

from grpc_stubs import image_service_v1_pb2 as image_pb
from grpc_stubs import preprocess_v1_pb2 as pre_pb
from imagescaler.grpc_runtime.client import UpstreamClient
from imagescaler.messages import with_field

_SERVICE = image_pb.DESCRIPTOR.services_by_name["ImageService"].full_name


def preprocess_job(image: bytes, profile_json: str) -> bytes:
    """A serialised PreprocessJob: the profile, and the image written once after it."""
    return with_field(image_pb.PreprocessJob(profile_json=profile_json), "image", image)


class ImageServiceClient(UpstreamClient):
    peer = "image service"
    reason_prefix = "image_service"

    async def preprocess(self, job: bytes) -> pre_pb.PreprocessReply:
        """ImageService.Preprocess, its reply parsed (ScaleImage takes the image out of it)."""
        return pre_pb.PreprocessReply.FromString(await self.preprocess_wire(job))

    async def preprocess_wire(self, job: bytes) -> bytes:
        """ImageService.Preprocess, its reply as it came (a serialised PreprocessReply): the
        API passes it on unparsed, so a tensor is not copied twice more on the event loop."""
        reply: bytes = await self.call(self._method("Preprocess"), job)
        return reply

    def _method(self, name: str) -> Any:
        """A unary method on the channel that sends and receives bytes as they are."""
        return self.channel.unary_unary(
            f"/{_SERVICE}/{name}", request_serializer=None, response_deserializer=None
        )
