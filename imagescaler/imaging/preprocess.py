"""preprocess(data, profile): the one pipeline of training and serving.

The image service runs exactly this function; training code imports it from the installed
package (no gRPC), so both see the same pixels for the same profile reference."""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass

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
from imagescaler.imaging.formats import (
    ImageHeader,
    Limits,
    check_byte_size,
    check_jxl,
    jxl_image_header,
    open_image,
)
from imagescaler.imaging.geometry import ResizePlan
from imagescaler.imaging.jxl_header import is_jxl
from imagescaler.imaging.layout import Layout, plan_layout
from imagescaler.imaging.mapping import Geometry
from imagescaler.imaging.processing import REDUCING_GAP, encode, letterbox
from imagescaler.imaging.profiles import ImageOutput, Pad, Profile, TensorOutput
from imagescaler.imaging.tensors import to_tensor
from imagescaler.runtime.cancellation import raise_if_cancelled
from imagescaler.runtime.memory_budget import MemoryBudget

RESAMPLING = {
    "nearest": Image.Resampling.NEAREST,
    "box": Image.Resampling.BOX,
    "bilinear": Image.Resampling.BILINEAR,
    "hamming": Image.Resampling.HAMMING,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}
DEFAULT_LIMITS = Limits(max_bytes=25 * 1024 * 1024, max_pixels=50_000_000)
MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


@dataclass(frozen=True)
class Result:
    """An encoded image (`data`) or a tensor (`array`), with its geometry and profile reference."""

    profile: str  # name@version#hash
    geometry: Geometry
    source_format: str  # JPEG, PNG, ... as read from the header
    array: np.ndarray | None = None
    data: bytes | None = None
    format: str | None = None  # JPEG, PNG or WEBP, for image profiles

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format] if self.format else "application/x-npy"


def preprocess(
    data: bytes,
    profile: Profile,
    limits: Limits = DEFAULT_LIMITS,
    budget: MemoryBudget | None = None,
) -> Result:
    """Decode `data` within `limits`, orient, size, colour and output it as `profile` says.
    Raises the ServiceError subclasses of imagescaler.runtime.errors for bad input. With a
    `budget`, the decode's estimated memory is reserved from it first."""
    if is_jxl(data):
        return _preprocess_jxl(data, profile, limits, budget)
    image, header = open_image(data, limits)
    layout = plan_layout(header.upright_size, profile)
    check_layout(layout, profile, limits)
    plan = _decode_plan(header, layout, profile)
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
    # Exact: decode RGB and convert, as PIL-based code does, not luma straight from the JPEG.
    decoded = decode(data, image, header, plan, gray and not exact)
    raise_if_cancelled()  # checkpoints: a job whose caller has gone stops between stages
    working = to_working_mode(decoded, gray, manage_colour=not exact)
    if not gray and working.mode == "L":
        working = working.convert("RGB")  # an RGB profile gives 3 channels, gray input or not
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
    if isinstance(output, TensorOutput):
        return Result(profile.reference, geometry, header.format, array=to_tensor(pixels, output))
    assert isinstance(output, ImageOutput)
    image_format = output.format.upper()
    encoded = encode(pixels, image_format, output.quality)
    return Result(profile.reference, geometry, header.format, data=encoded, format=image_format)


def _decode_plan(header: ImageHeader, layout: Layout, profile: Profile) -> ResizePlan | None:
    """What shrink-on-load may aim for: nothing when every pixel is wanted."""
    if profile.fidelity == "exact" or layout.margin_skipped:
        return None
    return ResizePlan(header.upright_size, layout.crop_box, layout.resized)


def render(
    image: Image.Image, header: ImageHeader, layout: Layout, profile: Profile
) -> Image.Image:
    """Resample the layout's box of the decoded upright image, and letterbox it if asked."""
    if layout.margin_skipped:
        return image
    resample = RESAMPLING[profile.resample]
    if profile.fidelity == "exact" and layout.resize_then_crop is not None:
        whole, (left, top) = layout.resize_then_crop
        cut = (left, top, left + layout.resized[0], top + layout.resized[1])
        resized = image.resize(whole, resample).crop(cut)
    else:
        # The box in decoded pixels: shrink-on-load may have made the image smaller.
        width, height = header.upright_size
        x0, y0, x1, y1 = layout.crop_box
        box = (
            x0 * image.width / width,
            y0 * image.height / height,
            x1 * image.width / width,
            y1 * image.height / height,
        )
        gap = None if profile.fidelity == "exact" else REDUCING_GAP
        resized = image.resize(layout.resized, resample, box=box, reducing_gap=gap)
    if layout.canvas == layout.resized:
        return resized
    fill = profile.size.fill if isinstance(profile.size, Pad) else (0, 0, 0)
    return letterbox(resized, layout.canvas, fill, layout.offset)
