"""Resampling the layout's box of a decoded upright image, and letterboxing it."""

from __future__ import annotations

from PIL import Image

from imagescaler.imaging.formats import ImageHeader
from imagescaler.imaging.layout import Layout
from imagescaler.imaging.profiles import LongestEdge, Pad, PadSquare, Profile
from imagescaler.imaging.resampling import gaussian_linear

RESAMPLING = {
    "nearest": Image.Resampling.NEAREST,
    "box": Image.Resampling.BOX,
    "bilinear": Image.Resampling.BILINEAR,
    "hamming": Image.Resampling.HAMMING,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}
# Fast fidelity: box-reduce by whole factors first (reducing_gap), faster at no visible cost.
REDUCING_GAP = 3.0


def render(
    image: Image.Image, header: ImageHeader, layout: Layout, profile: Profile
) -> Image.Image:
    """Resample the layout's box of the decoded upright image, and letterbox it if asked."""
    if layout.margin_skipped:
        return image
    if isinstance(profile.size, PadSquare):
        side = max(image.size)  # in decoded pixels: shrink-on-load may have made it smaller
        square = letterbox(image, (side, side), profile.size.fill, (0, 0))
        return resize_whole(square, layout.resized, profile)
    if profile.resample == "gaussian_linear":
        width, height = header.upright_size
        x0, y0, x1, y1 = layout.crop_box
        scale_x, scale_y = image.width / width, image.height / height
        cut = (round(x0 * scale_x), round(y0 * scale_y), round(x1 * scale_x), round(y1 * scale_y))
        resized = gaussian_linear(image.crop(cut), layout.resized)
        if layout.canvas == layout.resized:
            return resized
        return letterbox(resized, layout.canvas, canvas_fill(profile), layout.offset)
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
    return letterbox(resized, layout.canvas, canvas_fill(profile), layout.offset)


def resize_whole(image: Image.Image, size: tuple[int, int], profile: Profile) -> Image.Image:
    if profile.resample == "gaussian_linear":
        return gaussian_linear(image, size)
    gap = None if profile.fidelity == "exact" else REDUCING_GAP
    return image.resize(size, RESAMPLING[profile.resample], reducing_gap=gap)


def canvas_fill(profile: Profile) -> tuple[int, int, int]:
    """The levels the profile pads with (a pad in normalised values is written later, into
    the tensor)."""
    rule = profile.size
    if isinstance(rule, Pad):
        return rule.fill
    if isinstance(rule, LongestEdge) and rule.pad is not None:
        return rule.pad.fill
    return (0, 0, 0)


def letterbox(
    image: Image.Image, canvas: tuple[int, int], fill: tuple[int, int, int], offset: tuple[int, int]
) -> Image.Image:
    """`image` at `offset` on a canvas of `fill` (a grey of the same luma for mode L)."""
    colour: int | tuple[int, int, int] = fill
    if image.mode == "L":
        colour = round(fill[0] * 0.299 + fill[1] * 0.587 + fill[2] * 0.114)
    background = Image.new(image.mode, canvas, colour)
    background.paste(image, offset)
    return background
