"""ScaleImage's pixel work in process: the `default` profile through preprocess(), the one
pipeline (the image service runs exactly this for ScaleImage)."""

from __future__ import annotations

from typing import Any

from grpc_stubs import image_service_v1_pb2 as image_pb
from imagescaler.imaging.builtin_profiles import default_profile
from imagescaler.imaging.formats import Limits, read_header
from imagescaler.imaging.layout import plan_layout
from imagescaler.imaging.preprocess import Result, decode_plan, preprocess
from imagescaler.imaging.resize_plan import ResizePlan
from imagescaler.runtime.memory_budget import MemoryBudget

LIMITS = Limits(max_bytes=25 << 20, max_pixels=50_000_000)


def scale(
    data: bytes, limits: Limits = LIMITS, budget: MemoryBudget | None = None, **profile: Any
) -> Result:
    """`data` through default_profile(**profile): 1024x768 gray JPEG unless told otherwise,
    with no margin rule unless given one."""
    profile.setdefault("margin", 0.0)
    return preprocess(data, default_profile(**profile), limits, budget)


def convert(
    data: bytes, limits: Limits = LIMITS, *, grayscale: bool = False, output_format: str = "png"
) -> Result:
    """The pixels at their own upright size: orientation, colour and encoding alone."""
    size = read_header(data, limits).upright_size
    return scale(data, limits, target=size, grayscale=grayscale, output_format=output_format)


def encoded(result: Result) -> bytes:
    assert result.data is not None, "an image profile gives encoded bytes"
    return result.data


def default_job(image: bytes, **profile: Any) -> image_pb.PreprocessJob:
    """An ImageService/Preprocess job of default_profile(**profile) (no margin unless given),
    as the API sends for ScaleImage."""
    profile.setdefault("margin", 0.0)
    as_json = default_profile(**profile).model_dump_json(exclude={"description"})
    return image_pb.PreprocessJob(image=image, profile_json=as_json)


def default_plan(data: bytes, limits: Limits = LIMITS, **profile: Any) -> ResizePlan | None:
    """What the default profile lets the decode shrink to, as preprocess() plans it."""
    profile.setdefault("margin", 0.0)
    chosen = default_profile(**profile)
    header = read_header(data, limits)
    return decode_plan(header, plan_layout(header.upright_size, chosen), chosen)
