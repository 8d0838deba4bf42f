"""Library values as imagescaler.preprocess.v1 messages and back: a result as a reply, and
geometry both ways. The one home of these conversions: the image service, the gateway,
`batch --server` and the tests import them.

Large payloads (an image, a tensor) are never copied into a message: the small fields are
serialised alone and the payload written after them as its field on the wire, which protobuf
parsers read as the same message (fields may come in any order; `with_field`)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import numpy as np
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from grpc_stubs import preprocess_v1_pb2 as pre_pb
from imagescaler.imaging.mapping import Geometry
from imagescaler.imaging.preprocess import Result
from imagescaler.wire_scan import Unexpected, cut_field, varint

_LENGTH_DELIMITED = 2
_TENSOR_DATA = pre_pb.Tensor.DESCRIPTOR.fields_by_name["data"].number
_REPLY_TENSOR = pre_pb.PreprocessReply.DESCRIPTOR.fields_by_name["tensor"].number
Payload = bytes | memoryview
M = TypeVar("M", bound=Message)


def field_parts(number: int, payload: Payload) -> list[Payload]:
    """A length-delimited field on the wire: its key, its length, the payload itself."""
    return [varint(number << 3 | _LENGTH_DELIMITED), varint(len(payload)), payload]


def with_field(fields: Message, name: str, payload: Payload) -> bytes:
    """The wire form of `fields` (its `name` field unset) with `payload` as that field,
    written last: one copy of the payload, where building the message and serialising it
    copy it twice. An empty payload is left out, as proto3 leaves it out.

    `name` may be a path into sub-messages ("image.content"): the payload is then wrapped in
    each of them, and parsers merge such a sub-message into the one `fields` holds."""
    head = fields.SerializeToString()
    if not len(payload):
        return head
    *outer, last = name.split(".")
    descriptor = fields.DESCRIPTOR
    wrappers = []
    for part in outer:
        field = descriptor.fields_by_name[part]
        wrappers.append(field.number)
        assert field.message_type is not None, f"{part} is not a message field"
        descriptor = field.message_type
    parts = field_parts(descriptor.fields_by_name[last].number, payload)
    for number in reversed(wrappers):
        length = sum(len(part) for part in parts)
        parts = [varint(number << 3 | _LENGTH_DELIMITED), varint(length), *parts]
    return b"".join([head, *parts])


class WithPayload(Generic[M]):
    """A request message without its one large bytes field, and that field's bytes apart.
    `take()` hands the bytes over once: the interceptors and wrappers that pass the request
    on hold only this, so once the handler has written the bytes into its own request to the
    next service and let them go, no copy is left behind for the rest of the call."""

    __slots__ = ("_payload", "message")

    def __init__(self, message: M, payload: bytes) -> None:
        self.message = message
        self._payload = payload

    def take(self) -> bytes:
        payload, self._payload = self._payload, b""
        return payload


def payload_apart(message_type: type[M], path: str) -> Callable[[bytes], WithPayload[M]]:
    """A gRPC request deserializer: the message parsed, the bytes field at `path`
    ("image.content") taken out of it. The field is cut out of the wire bytes before the
    small rest is parsed (`wire_scan.cut_field`), so the payload is copied once, into its own
    bytes, where parsing the whole message copied it into the parser's memory and reading the
    field copied it again (raw, parsed and read: three copies at once of a 21 MB upload)."""
    numbers = _field_numbers(message_type.DESCRIPTOR, path)
    *outer, last = path.split(".")

    def parse(raw: bytes) -> WithPayload[M]:
        with contextlib.suppress(Unexpected):
            rest, found = cut_field(raw, numbers)
            if not found:
                return WithPayload(message_type.FromString(rest), b"")
            # Twice (the last wins) or empty (present, so a oneof's case): protobuf decides.
            if len(found) == 1 and len(found[0]):
                message = message_type.FromString(rest)
                holder = functools.reduce(getattr, outer, message)
                oneof = holder.DESCRIPTOR.fields_by_name[last].containing_oneof
                if oneof is None or holder.WhichOneof(oneof.name) is None:
                    return WithPayload(message, bytes(found[0]))
        return _parsed_apart(message_type.FromString(raw), outer, last)

    return parse


def _field_numbers(descriptor: Any, path: str) -> list[int]:
    """The field numbers along `path`: singular sub-messages, then a singular bytes field
    (cutting a string field out would skip protobuf's check of its UTF-8)."""
    numbers = []
    *outer, last = path.split(".")
    for part in outer:
        field = descriptor.fields_by_name[part]
        assert field.message_type is not None and not field.is_repeated, f"{part}: a message"
        numbers.append(field.number)
        descriptor = field.message_type
    field = descriptor.fields_by_name[last]
    assert field.type == FieldDescriptor.TYPE_BYTES and not field.is_repeated, f"{last}: bytes"
    return [*numbers, field.number]


def _parsed_apart(parsed: M, outer: list[str], last: str) -> WithPayload[M]:
    """The payload read from a parsed message, and the rest copied into a fresh message (the
    parsed one holds the payload a second time, which clearing the field does not free)."""
    holder = functools.reduce(getattr, outer, parsed)
    payload: bytes = getattr(holder, last)
    if not payload:
        return WithPayload(parsed, b"")
    holder.ClearField(last)
    message = type(parsed)()
    message.CopyFrom(parsed)
    return WithPayload(message, payload)


def preprocess_reply_wire(result: Result) -> bytes:
    """preprocess_reply(result) serialised, a tensor's values copied once: from the array
    itself into the bytes handed to gRPC (building the message and serialising it copied
    them twice more)."""
    if result.array is None:
        return preprocess_reply(result).SerializeToString()
    array = np.ascontiguousarray(result.array)
    reply = pre_pb.PreprocessReply(
        profile=result.profile, geometry=geometry_message(result.geometry)
    )
    tensor = pre_pb.Tensor(shape=array.shape, dtype=str(array.dtype))
    values = field_parts(_TENSOR_DATA, array.data.cast("B"))
    tensor_head = tensor.SerializeToString()
    tensor_length = len(tensor_head) + sum(len(part) for part in values)
    key = varint(_REPLY_TENSOR << 3 | _LENGTH_DELIMITED)
    return b"".join([reply.SerializeToString(), key, varint(tensor_length), tensor_head, *values])


def geometry_message(geometry: Geometry) -> pre_pb.Geometry:
    return pre_pb.Geometry(
        source_size=geometry.source_size,
        orientation=geometry.orientation,
        upright_size=geometry.upright_size,
        decode_scale=geometry.decode_scale,
        crop_box=geometry.crop_box,
        scale=geometry.scale,
        padding=geometry.padding,
        output_size=geometry.output_size,
        margin_skipped=geometry.margin_skipped,
        output_to_source=[value for row in geometry.output_to_source for value in row],
        source_to_output=[value for row in geometry.source_to_output for value in row],
    )


def preprocess_reply(result: Result) -> pre_pb.PreprocessReply:
    """The one copy of a tensor's bytes is the one into this reply."""
    reply = pre_pb.PreprocessReply(
        profile=result.profile, geometry=geometry_message(result.geometry)
    )
    if result.array is not None:
        array = result.array
        reply.tensor.shape.extend(array.shape)
        reply.tensor.dtype = str(array.dtype)
        reply.tensor.data = array.tobytes()
    else:
        assert result.data is not None
        reply.image.data = result.data
        reply.image.media_type = result.media_type
    return reply


def geometry_of(message: pre_pb.Geometry) -> Geometry:
    """The reply's geometry as the library's Geometry (the affine maps are derived from it)."""
    return Geometry(
        source_size=(message.source_size[0], message.source_size[1]),
        orientation=message.orientation,
        upright_size=(message.upright_size[0], message.upright_size[1]),
        decode_scale=message.decode_scale,
        crop_box=(
            message.crop_box[0],
            message.crop_box[1],
            message.crop_box[2],
            message.crop_box[3],
        ),
        scale=(message.scale[0], message.scale[1]),
        padding=(message.padding[0], message.padding[1], message.padding[2], message.padding[3]),
        output_size=(message.output_size[0], message.output_size[1]),
        margin_skipped=message.margin_skipped,
    )


def geometry_dict(message: pre_pb.Geometry) -> dict[str, Any]:
    """JSON-ready, exactly as the library writes it (batch --server and --local agree)."""
    return geometry_of(message).as_dict()
