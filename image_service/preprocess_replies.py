"""preprocess() results as the public imagescaler.preprocess.v1 messages, and profiles from
the API's jobs."""

from __future__ import annotations

from pydantic import ValidationError

from grpc_stubs import preprocess_v1_pb2 as pre_pb
from imagescaler.imaging.mapping import Geometry
from imagescaler.imaging.preprocess import Result
from imagescaler.imaging.profiles import Profile
from imagescaler.runtime.errors import InvalidRequest


def profile_from_job(profile_json: str, max_pixels: int, max_reply_bytes: int) -> Profile:
    """The job's profile, refused before any work when its output could exceed the pixel
    limit or the reply message limit (the API's own profiles never do)."""
    try:
        profile = Profile.model_validate_json(profile_json)
    except ValidationError as error:
        raise InvalidRequest(f"the job's profile is invalid: {error.errors()[0]['msg']}") from None
    problem = profile.output_problem(max_pixels, max_reply_bytes)
    if problem is not None:
        raise InvalidRequest(problem)
    return profile


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
