"""The memory a job will take, estimated from the header and the profile's layout before any
pixel is decoded: the decode, and every buffer the profile makes after it (a whole-image
resize, the canvas, the tensor). A layout whose buffers could never fit is refused."""

from __future__ import annotations

import math
from contextlib import AbstractContextManager, nullcontext

from PIL import Image

from imagescaler.imaging.avif_header import WORST_CASE, av1_configs
from imagescaler.imaging.decoding import stored_size_needed
from imagescaler.imaging.formats import ImageHeader, Limits
from imagescaler.imaging.jpeg_decoder import DIRECT_MODES
from imagescaler.imaging.jxl_header import JxlHeader
from imagescaler.imaging.layout import Layout
from imagescaler.imaging.png_decoder import libvips_mode, shrunk_size
from imagescaler.imaging.profiles import PadSquare, Profile, TensorOutput
from imagescaler.imaging.resize_plan import ResizePlan
from imagescaler.runtime.errors import ImageTooLarge
from imagescaler.runtime.memory_budget import MemoryBudget

# Peak bytes per decoded pixel over decode, colour conversion, resize and encode, measured
# per format and mode with some room (docs/security.md, "Memory"). Pillow holds RGB in 4 bytes
# a pixel; alpha is composited on white through two more copies; 16-bit input is widened.
BYTES_PER_DECODED_PIXEL = 10
_BYTES_PER_PIXEL_BY_FORMAT = {"WEBP": 18, "HEIF": 12}
_WIDE_MODES = frozenset({"RGBA", "LA", "PA", "La", "RGBa", "I", "F", "I;16", "I;16B", "I;16L"})
WIDE_MODE_BYTES_PER_PIXEL = 14
# libwebp's animation decoder keeps two RGBA canvases beside the frame Pillow gets.
ANIMATION_CANVAS_BYTES = 8
# A progressive JPEG's coefficients are kept whole: 64 x 2 bytes per 8x8 block per channel.
COEFFICIENT_BYTES = 2
# libjxl decodes into 4-byte planes, one per channel; its child process's interpreter.
JXL_PLANE_BYTES = 4
JXL_CHILD_BYTES = 16 << 20
# AVIF: libavif's YUV frame, from the av1C boxes (samples per pixel times bytes per sample, an
# alpha plane too), counted twice: film grain is synthesised into a second frame, and whether
# a file has grain is in the sequence header inside the coded data, which no header read here
# reaches. Beside it, what Pillow and the pipeline hold: AVIF_BASE_BYTES, AVIF_ALPHA_BASE_BYTES
# with alpha. Measured on 12 MP files (docs/security.md, Memory): peak = base + frame x (1, or
# 2 with grain), base 7.8-8.2 (RGB), 14.0-14.4 (RGBA); round 3's 12-bit 4:4:4 grain AVIF took
# 20.2 bytes a pixel against the 12 estimated then, 21 now.
AVIF_BASE_BYTES = 9
AVIF_ALPHA_BASE_BYTES = 16
AVIF_FLOOR_BYTES = 12
# Buffers of any job, whatever its size: the output, a tensor, the encoder's.
JOB_OVERHEAD_BYTES = 8 << 20
# Pillow holds an RGB or L image resized, cropped or letterboxed in 4 bytes a pixel at most.
IMAGE_BUFFER_BYTES = 4


def reserve_decode(
    budget: MemoryBudget | None,
    data: bytes,
    image: Image.Image,
    header: ImageHeader,
    plan: ResizePlan | None,
    *,
    buffers: int = 0,
) -> AbstractContextManager[None]:
    """Hold the decode's estimated memory, and `buffers` more (layout_bytes), in `budget`
    (nothing to hold without one)."""
    if budget is None:
        return nullcontext()
    return budget.reserve(estimate_decode_bytes(data, image, header, plan) + buffers)


def reserve_jxl(
    budget: MemoryBudget | None, jxl: JxlHeader, buffers: int
) -> AbstractContextManager[None]:
    """JPEG XL is decoded in a child process: its memory is held from its header first."""
    if budget is None:
        return nullcontext()
    return budget.reserve(JOB_OVERHEAD_BYTES + estimate_jxl_bytes(jxl) + buffers)


def estimate_jxl_bytes(jxl: JxlHeader) -> int:
    """The decoder's child (libjxl's 4-byte planes, one per channel, and the output it sends)
    and this process (the output, and what Pillow makes of it), added: their peaks may meet."""
    pixels = jxl.width * jxl.height
    sample = 2 if jxl.bits > 8 else 1
    child = JXL_CHILD_BYTES + pixels * jxl.channels * (JXL_PLANE_BYTES + sample)
    wide = jxl.alpha or jxl.bits > 8
    here = pixels * (WIDE_MODE_BYTES_PER_PIXEL if wide else BYTES_PER_DECODED_PIXEL)
    return child + here


def layout_images(layout: Layout, profile: Profile) -> list[tuple[int, int]]:
    """The sizes of the images the profile makes after the decode."""
    sizes = [layout.resized, layout.canvas]
    if profile.fidelity == "exact" and layout.resize_then_crop is not None:
        sizes.append(layout.resize_then_crop[0])  # the whole image resized, then cropped
    if isinstance(profile.size, PadSquare):
        side = math.ceil(layout.crop_box[2])  # the square the image is padded to first
        sizes.append((side, side))
    return sizes


def resampling_bytes(layout: Layout, profile: Profile) -> int:
    """gaussian_linear works in float32, a channel at a time: the source box four times over
    (the values, the blurred values, scipy's buffer between the filter's passes, and room for
    its own temporaries), and each channel split off the image (tests/hardening/
    test_layout_buffers.py holds measured peaks under this)."""
    if profile.resample != "gaussian_linear":
        return 0
    x0, y0, x1, y1 = layout.crop_box
    channels = 1 if profile.colour == "L" else 3
    area = math.ceil((x1 - x0) * (y1 - y0))
    return 4 * area * 4 + area * channels


def check_layout(layout: Layout, profile: Profile, limits: Limits) -> None:
    """ImageTooLarge when an image the profile would make has more pixels than any input may:
    a 1x4000 strip to a 256-pixel shortest edge would be resized to 256x1024000 first; and
    when the output would not fit the profile's largest output, which bounds its tensors."""
    largest = profile.largest_output
    if layout.canvas[0] > largest[0] or layout.canvas[1] > largest[1]:
        width, height = layout.canvas
        raise ImageTooLarge(
            f"profile {profile.name} would make this image {width}x{height}, more than its "
            f"largest output of {largest[0]}x{largest[1]} (its aspect ratio is too extreme)"
        )
    for width, height in layout_images(layout, profile):
        if width * height > limits.max_pixels:
            raise ImageTooLarge(
                f"profile {profile.name} would resize this image to {width}x{height} = "
                f"{width * height / 1e6:.1f} megapixels, over the limit of "
                f"{limits.max_pixels / 1e6:.1f} megapixels (its aspect ratio is too extreme)"
            )


def layout_bytes(layout: Layout, profile: Profile) -> int:
    """Bytes of the images and the tensor the profile makes after the decode."""
    images = sum(w * h for w, h in layout_images(layout, profile)) * IMAGE_BUFFER_BYTES
    images += resampling_bytes(layout, profile)
    output = profile.output
    if not isinstance(output, TensorOutput):
        return images
    channels = 1 if profile.colour == "L" else 3
    # The levels, the float32 values, and a float16 copy when asked for.
    per_value = {"uint8": 1, "float32": 1 + 4, "float16": 1 + 4 + 2}[output.dtype]
    return images + layout.canvas[0] * layout.canvas[1] * channels * per_value


def estimate_decode_bytes(
    data: bytes, image: Image.Image, header: ImageHeader, plan: ResizePlan | None
) -> int:
    """Bytes the decode of `image` (opened from `data`) will need at its peak, for the budget."""
    return JOB_OVERHEAD_BYTES + _pixel_bytes(data, image, header, plan)


def _pixel_bytes(
    data: bytes, image: Image.Image, header: ImageHeader, plan: ResizePlan | None
) -> int:
    pixels = header.stored_width * header.stored_height
    if libvips_mode(data, image) is not None:
        # libvips streams rows into the shrink: only the shrunk image is held whole.
        stored = (header.stored_width, header.stored_height)
        width, height = shrunk_size(stored, stored_size_needed(header, plan))
        return width * height * BYTES_PER_DECODED_PIXEL
    if header.format == "JPEG" and image.mode in DIRECT_MODES:
        cost = _jpeg_decoded_pixels(header, plan) * BYTES_PER_DECODED_PIXEL
        if image.info.get("progressive") or image.info.get("progression"):
            cost += pixels * COEFFICIENT_BYTES * len(image.getbands())
        return cost
    if header.format == "AVIF":
        return math.ceil(pixels * avif_bytes_per_pixel(data, image))
    per_pixel = _BYTES_PER_PIXEL_BY_FORMAT.get(header.format, BYTES_PER_DECODED_PIXEL)
    if image.mode in _WIDE_MODES or "transparency" in image.info:
        per_pixel = max(per_pixel, WIDE_MODE_BYTES_PER_PIXEL)
    cost = pixels * per_pixel
    if header.format == "WEBP" and getattr(image, "n_frames", 1) > 1:
        cost += pixels * ANIMATION_CANVAS_BYTES
    return cost


def avif_bytes_per_pixel(data: bytes, image: Image.Image) -> float:
    """An AVIF's peak bytes per pixel: the base, and its YUV frame (and alpha plane) twice.
    The boxes are the uploader's: the costliest of them counts, and never less than the flat
    AVIF_FLOOR_BYTES of before."""
    configs = av1_configs(data) or [WORST_CASE]
    frame = max(c.planes * c.sample_bytes for c in configs)
    alpha = image.mode in _WIDE_MODES
    if alpha:
        frame += max(c.sample_bytes for c in configs)
    base = AVIF_ALPHA_BASE_BYTES if alpha else AVIF_BASE_BYTES
    return max(base + 2 * frame, AVIF_FLOOR_BYTES)


def _jpeg_decoded_pixels(header: ImageHeader, plan: ResizePlan | None) -> int:
    """Pixels after libjpeg's DCT scaling: the smallest n/8 that still gives the plan's size."""
    width, height = header.stored_width, header.stored_height
    needed = stored_size_needed(header, plan)
    if needed is None:
        return width * height
    needed_width, needed_height = needed
    for eighths in range(1, 9):
        scaled = math.ceil(width * eighths / 8), math.ceil(height * eighths / 8)
        if scaled[0] >= needed_width and scaled[1] >= needed_height:
            return scaled[0] * scaled[1]
    return width * height
