"""Library values as imagescaler.preprocess.v1 messages and back: a result as a reply, and
geometry both ways. The one home of these conversions: the image service, the gateway,
`batch --server` and the tests import them."""

from __future__ import annotations

from typing import Any

from grpc_stubs import preprocess_v1_pb2 as pre_pb
from imagescaler.imaging.mapping import Geometry
from imagescaler.imaging.preprocess import Result


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
