"""preprocess(data, profile): the one pipeline of training and serving.

The image service runs exactly this function; training code imports it from the installed
package (no gRPC), so both see the same pixels for the same profile reference."""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from imagescaler.imaging.colour import to_working_mode
from imagescaler.imaging.decode_cost import (
    check_layout,
    layout_bytes,
    reserve_decode,
    reserve_jxl,
)
from imagescaler.imaging.decoding import decode
from imagescaler.imaging.encoding import NPY, OUTPUT_FORMATS, encode
from imagescaler.imaging.formats import (
    DEFAULT_LIMITS,
    ImageHeader,
    Limits,
    check_byte_size,
    check_jxl,
    jxl_image_header,
    open_image,
)
from imagescaler.imaging.inputs import ImageSource, image_bytes, resolve_profile
from imagescaler.imaging.jxl_header import is_jxl
from imagescaler.imaging.layout import Layout, plan_layout
from imagescaler.imaging.mapping import Geometry
from imagescaler.imaging.profiles import ImageOutput, Profile, TensorOutput
from imagescaler.imaging.rendering import render
from imagescaler.imaging.resize_plan import ResizePlan
from imagescaler.imaging.stages import StageClock
from imagescaler.imaging.tensors import fill_padding, to_tensor
from imagescaler.runtime.cancellation import raise_if_cancelled
from imagescaler.runtime.memory_budget import MemoryBudget


@dataclass(frozen=True)
class Result:
    """An encoded image (`data`) or a tensor (`array`), with its geometry and profile reference."""

    profile: str  # name@version#hash
    geometry: Geometry
    source_format: str  # JPEG, PNG, ... as read from the header
    array: np.ndarray | None = None
    data: bytes | None = None
    format: str | None = None  # JPEG, PNG or WEBP, for image profiles
    stage_seconds: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def media_type(self) -> str:
        return OUTPUT_FORMATS[self.format].media_type if self.format else NPY.media_type


def preprocess(
    source: ImageSource,
    profile: Profile | str,
    limits: Limits = DEFAULT_LIMITS,
    budget: MemoryBudget | None = None,
) -> Result:
    """Decode the image within `limits`, orient, size, colour and output it as `profile`
    says. `source` is the encoded image as bytes, a path, a binary file object, or a PIL
    image (taken as shown); `profile` a Profile or a built-in profile's name. Raises the
    ServiceError subclasses of imagescaler.runtime.errors for bad input. With a `budget`,
    the decode's estimated memory is reserved from it first."""
    data = image_bytes(source)
    profile = resolve_profile(profile)
    if is_jxl(data):
        return _preprocess_jxl(data, profile, limits, budget)
    image, header = open_image(data, limits)
    layout = plan_layout(header.upright_size, profile)
    check_layout(layout, profile, limits)
    plan = decode_plan(header, layout, profile)
    buffers = layout_bytes(layout, profile)
    with reserve_decode(budget, data, image, header, plan, buffers=buffers), closing(image):
        return _preprocess(data, image, header, layout=layout, plan=plan, profile=profile)


def _preprocess_jxl(
    data: bytes, profile: Profile, limits: Limits, budget: MemoryBudget | None
) -> Result:
    """JPEG XL's plugin decodes while it opens: checks and the reservation come first, from
    the codestream's header."""
    check_byte_size(len(data), limits.max_bytes)
    jxl = check_jxl(data, limits)
    layout = plan_layout(jxl_image_header(jxl).upright_size, profile)
    check_layout(layout, profile, limits)
    with reserve_jxl(budget, jxl, layout_bytes(layout, profile)):
        image, header = open_image(data, limits)
        with closing(image):
            layout = plan_layout(header.upright_size, profile)
            return _preprocess(data, image, header, layout=layout, plan=None, profile=profile)


def _preprocess(
    data: bytes,
    image: Image.Image,
    header: ImageHeader,
    *,
    layout: Layout,
    plan: ResizePlan | None,
    profile: Profile,
) -> Result:
    gray = profile.colour == "L"
    exact = profile.fidelity == "exact"
    clock = StageClock()
    with clock.stage("decode"):
        # Exact: decode RGB and convert, as PIL-based code does, not luma from the JPEG.
        decoded = decode(data, image, header, plan, gray and not exact)
    raise_if_cancelled()  # checkpoints: a job whose caller has gone stops between stages
    with clock.stage("colour"):
        working = to_working_mode(decoded, gray, manage_colour=not exact)
        if not gray and working.mode == "L":
            working = working.convert("RGB")  # an RGB profile gives 3 channels, gray or not
    with clock.stage("resize"):
        pixels = render(working, header, layout, profile)
    raise_if_cancelled()
    geometry = Geometry(
        source_size=(header.stored_width, header.stored_height),
        orientation=header.orientation,
        upright_size=header.upright_size,
        decode_scale=decoded.width / header.upright_size[0],
        crop_box=layout.crop_box,
        scale=layout.scale,
        padding=layout.padding,
        output_size=pixels.size,
        margin_skipped=layout.margin_skipped,
    )
    output = profile.output
    reference, source = profile.reference, header.format
    if isinstance(output, TensorOutput):
        with clock.stage("tensor"):
            array = to_tensor(pixels, output)
            pad = getattr(profile.size, "pad", None)
            if pad is not None and pad.normalised is not None:
                fill_padding(array, layout.padding, pad.normalised, output.layout)
        return Result(reference, geometry, source, array=array, stage_seconds=clock.seconds)
    assert isinstance(output, ImageOutput)
    image_format = output.format.upper()
    with clock.stage("encode"):
        encoded = encode(pixels, image_format, output.quality)
    return Result(
        reference, geometry, source, data=encoded, format=image_format, stage_seconds=clock.seconds
    )


def decode_plan(header: ImageHeader, layout: Layout, profile: Profile) -> ResizePlan | None:
    """What shrink-on-load may aim for: nothing when every pixel is wanted."""
    if profile.fidelity == "exact" or layout.margin_skipped:
        return None
    return ResizePlan(header.upright_size, layout.crop_box, layout.resized)
