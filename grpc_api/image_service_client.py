"""The API's client of the image service: one long-lived channel, deadlines, errors passed on.

The image bytes are never copied into a request message: each request's small fields are
serialised alone and the image appended as its field on the wire (protobuf parsers take fields
in any order). Building the message and serialising it copied a 4 MB photo twice on the event
loop; an 8 MB PNG's copies took 6 ms of the API's time per request (docs/benchmarks.md)."""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message

from grpc_stubs import image_service_v1_pb2 as image_pb
from grpc_stubs import preprocess_v1_pb2 as pre_pb
from imagescaler.runtime.grpc_client import UpstreamClient

_SERVICE = image_pb.DESCRIPTOR.services_by_name["ImageService"].full_name
_LENGTH_DELIMITED = 2


def with_image(fields: Message, image: bytes) -> bytes:
    """The wire form of `fields` (a message whose `image` field is unset) with `image` as its
    `image` field, written last: as long as the message with both serialised, and parsed as
    the same message (proto3 leaves an empty field out)."""
    if not image:
        return fields.SerializeToString()
    number = fields.DESCRIPTOR.fields_by_name["image"].number
    return b"".join(
        (
            fields.SerializeToString(),
            _varint(number << 3 | _LENGTH_DELIMITED),
            _varint(len(image)),
            image,
        )
    )


def _varint(value: int) -> bytes:
    """Protobuf's base-128 varint of a non-negative integer."""
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


class ImageServiceClient(UpstreamClient):
    peer = "image service"
    reason_prefix = "image_service"

    async def preprocess(self, image: bytes, profile_json: str) -> pre_pb.PreprocessReply:
        """ImageService.Preprocess; the reply is passed on to the caller as it is."""
        fields = image_pb.PreprocessJob(profile_json=profile_json)
        reply: pre_pb.PreprocessReply = await self.call(
            self._method("Preprocess", pre_pb.PreprocessReply), with_image(fields, image)
        )
        return reply

    def _method(self, name: str, reply: type[Message]) -> Any:
        """A unary method on the channel that sends bytes already serialised."""
        return self.channel.unary_unary(
            f"/{_SERVICE}/{name}", request_serializer=None, response_deserializer=reply.FromString
        )
