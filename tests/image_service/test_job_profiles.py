"""The internal ImageService/Preprocess takes the profile from the job: one whose output the
limits could never let through is refused before any work (round 3: any profile up to 16384
per side was accepted, and its tensor was outside the budget)."""

from __future__ import annotations

import grpc
import pytest

from grpc_stubs import image_service_v1_pb2 as image_pb
from grpc_stubs import image_service_v1_pb2_grpc as image_grpc
from imagescaler.grpc_runtime.server import RunningServer
from imagescaler.imaging.profiles import Pad, Profile, Stretch, TensorOutput
from tests.support.images import shared_image
from tests.support.servers import CLIENT_OPTIONS

HUGE_TENSOR = Profile(name="t", version=1, size=Stretch(width=4096, height=4096),
                      output=TensorOutput())  # fmt: skip
HUGE_IMAGE = Profile(name="i", version=1, size=Pad(width=16384, height=16384))


@pytest.mark.parametrize(
    ("profile", "named"),
    [
        (HUGE_TENSOR, "profile t's tensor can be 201326592 bytes, over the message limit"),
        (HUGE_IMAGE, "profile i's output of 16384x16384 is over the limit of 50.0 megapixels"),
    ],
)
def test_a_job_whose_output_cannot_fit_is_refused_before_work(
    image_service: RunningServer, profile: Profile, named: str
) -> None:
    job = image_pb.PreprocessJob(
        image=shared_image("photo_550x368.webp"), profile_json=profile.model_dump_json()
    )
    address = f"127.0.0.1:{image_service.port}"
    with (
        grpc.insecure_channel(address, options=CLIENT_OPTIONS) as channel,
        pytest.raises(grpc.RpcError) as refused,
    ):
        image_grpc.ImageServiceStub(channel).Preprocess(job, timeout=30)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert named in (refused.value.details() or "")


def test_tensors_of_the_built_in_profiles_fit_the_default_limits() -> None:
    from imagescaler.imaging.builtin_profiles import BUILTIN_PROFILES

    for profile in BUILTIN_PROFILES.values():
        assert profile.output_problem(50_000_000, 25 << 20) is None
