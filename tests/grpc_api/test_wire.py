"""Payloads written onto the wire after the small fields (imagescaler/messages.py) parse as
the messages built the ordinary way: the job's image, a reply's tensor, a stream reply
wrapping a reply passed through unparsed."""

from __future__ import annotations

import numpy as np
import pytest

from grpc_stubs import image_service_v1_pb2 as image_pb
from grpc_stubs import imagescaler_pb2 as api_pb
from grpc_stubs import preprocess_v1_pb2 as pre_pb
from imagescaler.imaging.builtin_profiles import BUILTIN_PROFILES, default_profile
from imagescaler.imaging.preprocess import preprocess
from imagescaler.messages import preprocess_reply, preprocess_reply_wire, with_field
from tests.support.images import shared_image


@pytest.mark.parametrize("size", [0, 1, 127, 128, 16_383, 16_384, 4_000_000, 21_000_000])
def test_a_job_with_its_image_appended_parses_as_the_built_message(size: int) -> None:
    image = bytes(range(256)) * (size // 256) + bytes(size % 256)
    fields = image_pb.PreprocessJob(profile_json='{"name": "default", "version": 1}')
    built = image_pb.PreprocessJob()
    built.CopyFrom(fields)
    built.image = image
    wire = with_field(fields, "image", image)
    assert image_pb.PreprocessJob.FromString(wire) == built
    assert len(wire) == built.ByteSize()


@pytest.mark.parametrize("size", [0, 1, 127, 128, 16_384, 21_000_000])
def test_an_image_appended_inside_sub_messages_parses_as_the_built_message(size: int) -> None:
    image = bytes(range(256)) * (size // 256) + bytes(size % 256)
    fields = api_pb.ScaleImageRequest(
        image=api_pb.Image(source=api_pb.ImageSource(http_uri="https://example.com/a.jpg"))
    )
    built = api_pb.ScaleImageRequest()
    built.CopyFrom(fields)
    built.image.content = image
    wire = with_field(fields, "image.content", image)
    assert api_pb.ScaleImageRequest.FromString(wire) == built  # merged into the image there
    profile = pre_pb.PreprocessRequest(profile="yolo-640")
    wire = with_field(profile, "image.content", image)
    expected = pre_pb.PreprocessRequest(profile="yolo-640")
    if size:  # an empty payload is left out: no image, as proto3 sends an unset field
        expected.image.content = image
    assert pre_pb.PreprocessRequest.FromString(wire) == expected


YOLO = BUILTIN_PROFILES["yolo-640"]
PROFILES = {
    "float32": YOLO,
    "float16": YOLO.model_copy(
        update={"output": YOLO.output.model_copy(update={"dtype": "float16"})}
    ),
    "uint8": YOLO.model_copy(update={"output": YOLO.output.model_copy(update={"dtype": "uint8"})}),
    "image": default_profile(),
}


@pytest.mark.parametrize("kind", sorted(PROFILES))
def test_a_reply_written_once_parses_as_the_built_reply(kind: str) -> None:
    result = preprocess(shared_image("hotdog_1400x1316.jpg"), PROFILES[kind])
    wire = preprocess_reply_wire(result)
    assert pre_pb.PreprocessReply.FromString(wire) == preprocess_reply(result)
    assert wire == preprocess_reply(result).SerializeToString()  # the same bytes, even


def test_a_stream_reply_wraps_a_reply_passed_through() -> None:
    result = preprocess(shared_image("hotdog_1400x1316.jpg"), BUILTIN_PROFILES["yolo-640"])
    passed = preprocess_reply_wire(result)
    wire = with_field(pre_pb.StreamReply(id="a/1.jpg", code=0), "result", passed)
    parsed = pre_pb.StreamReply.FromString(wire)
    assert parsed.id == "a/1.jpg" and parsed.result == preprocess_reply(result)
    values = np.frombuffer(parsed.result.tensor.data, parsed.result.tensor.dtype)
    assert np.array_equal(values.reshape(result.array.shape), result.array)  # type: ignore[union-attr]
