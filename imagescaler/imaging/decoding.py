"""Decoding the first frame upright: shrink-on-load and straight-to-gray where the format can."""

from __future__ import annotations

import struct

from PIL import Image

from imagescaler.imaging.colour import wants_colour_management
from imagescaler.imaging.formats import ImageHeader
from imagescaler.imaging.jpeg_decoder import DIRECT_MODES, decode_jpeg
from imagescaler.imaging.png_decoder import decode_png, libvips_mode
from imagescaler.imaging.resize_plan import ResizePlan
from imagescaler.runtime.errors import CorruptImage, ImageTooLarge

_ORIENTATION_TRANSPOSE: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def decode(
    data: bytes,
    image: Image.Image,
    header: ImageHeader,
    plan: ResizePlan | None,
    grayscale: bool,
) -> Image.Image:
    """Decode the first frame upright, shrinking on load (and to gray) where the format can."""
    if header.format == "JPEG" and image.mode in DIRECT_MODES:
        image = _decode_jpeg_scaled(data, image, header, plan, grayscale)
    elif (png_mode := libvips_mode(data, image)) is not None:
        image = _decode_png_scaled(data, image, header, plan, png_mode)
    else:
        _load(image)
    transpose = _ORIENTATION_TRANSPOSE.get(header.orientation)
    return image.transpose(transpose) if transpose is not None else image


def stored_size_needed(header: ImageHeader, plan: ResizePlan | None) -> tuple[int, int] | None:
    """The smallest stored (not yet oriented) size the plan can still be met from."""
    if plan is None:
        return None
    width, height = plan.decode_size_needed()
    return (height, width) if header.transposed else (width, height)


def _decode_png_scaled(
    data: bytes, image: Image.Image, header: ImageHeader, plan: ResizePlan | None, mode: str
) -> Image.Image:
    """libvips' decode, shrunk on load; the header's chunks (ICC profile, gamma) kept."""
    decoded = decode_png(data, mode, stored_size_needed(header, plan))
    decoded.info = dict(image.info)
    return decoded


def _decode_jpeg_scaled(
    data: bytes,
    image: Image.Image,
    header: ImageHeader,
    plan: ResizePlan | None,
    grayscale: bool,
) -> Image.Image:
    """Gray straight from the luma channel when no colour management is needed."""
    min_size = stored_size_needed(header, plan)
    needs_colour = wants_colour_management(image, grayscale)
    mode = "L" if image.mode == "L" or (grayscale and not needs_colour) else "RGB"
    decoded = decode_jpeg(data, mode, min_size)
    if needs_colour:
        decoded.info["icc_profile"] = image.info["icc_profile"]
    return decoded


def _load(image: Image.Image) -> None:
    try:
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageTooLarge(f"the image has too many pixels: {error}") from None
    except (OSError, SyntaxError, ValueError, RuntimeError, struct.error, EOFError) as error:
        raise CorruptImage(f"the image could not be decoded: {error}") from None
