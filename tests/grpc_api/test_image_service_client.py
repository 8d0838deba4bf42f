"""The API's requests to the image service: the image appended on the wire, not copied into a
message, must parse as the message built the ordinary way."""

from __future__ import annotations

import pytest

from grpc_api.image_service_client import with_image
from grpc_stubs import image_service_v1_pb2 as image_pb


@pytest.mark.parametrize("size", [0, 1, 127, 128, 16_383, 16_384, 4_000_000, 21_000_000])
def test_a_job_with_its_image_appended_parses_as_the_built_message(size: int) -> None:
    image = bytes(range(256)) * (size // 256) + bytes(size % 256)
    fields = image_pb.PreprocessJob(profile_json='{"name": "default", "version": 1}')
    built = image_pb.PreprocessJob()
    built.CopyFrom(fields)
    built.image = image
    parsed = image_pb.PreprocessJob.FromString(with_image(fields, image))
    assert parsed == built
    assert len(with_image(fields, image)) == built.ByteSize()


def test_a_preprocess_job_with_its_image_appended_parses_as_the_built_message() -> None:
    image = b"\xff\xd8" + bytes(300_000)
    wire = with_image(image_pb.PreprocessJob(profile_json='{"name": "default"}'), image)
    parsed = image_pb.PreprocessJob.FromString(wire)
    assert parsed == image_pb.PreprocessJob(image=image, profile_json='{"name": "default"}')
