"""The output sizes the models' own processors compute, step for step (their rounding decides
which pixels a model sees, so each is written out as its reference does it). Sizes here are
(width, height); the references work in (height, width)."""

from __future__ import annotations

import math

from imagescaler.runtime.errors import ImageTooLarge

Size = tuple[int, int]
# Qwen2-VL refuses images more elongated than this; so do we, with a clear error.
MAX_ASPECT = 200


def detr_size(upright: Size, shortest: int, longest: int) -> Size:
    """transformers' get_size_with_aspect_ratio (DETR, Conditional and Deformable DETR,
    RT-DETR's shortest/longest form): the shorter side to `shortest` unless the longer would
    pass `longest`."""
    width, height = upright
    size, raw = _capped(upright, shortest, longest)
    if (height <= width and height == size) or (width <= height and width == size):
        return width, height
    if width < height:
        return size, int((raw or size) * height / width)
    return int((raw or size) * width / height), size


def yolos_size(upright: Size, shortest: int, longest: int, multiple: int = 16) -> Size:
    """YOLOS's variant: the portrait branch first, then each side cut down to a multiple."""
    width, height = upright
    size, raw = _capped(upright, shortest, longest)
    if width < height:
        new = size, int((raw or size) * height / width)
    elif (height <= width and height == size) or (width <= height and width == size):
        new = width, height
    else:
        new = int((raw or size) * width / height), size
    return max(multiple, new[0] - new[0] % multiple), max(multiple, new[1] - new[1] % multiple)


def _capped(upright: Size, shortest: int, longest: int) -> tuple[int, float | None]:
    """The shorter side's target, and the unrounded one when the longer side capped it."""
    short, long = float(min(upright)), float(max(upright))
    if long / short * shortest > longest:
        raw = longest * short / long
        return round(raw), raw
    return shortest, None


def sam_size(upright: Size, edge: int) -> Size:
    """SAM's get_preprocess_shape: the longer side to `edge`, each side rounded half up."""
    width, height = upright
    scale = edge * 1.0 / max(height, width)
    return max(1, int(width * scale + 0.5)), max(1, int(height * scale + 0.5))


def dpt_size(upright: Size, target: Size, multiple: int, keep_aspect: bool) -> Size:
    """DPT's get_resize_output_image_size. A side that would round to 0 is given `multiple`
    (DPT itself would fail on it)."""
    width, height = upright
    scale_width, scale_height = target[0] / width, target[1] / height
    if keep_aspect:  # scale as little as possible
        if abs(1 - scale_width) < abs(1 - scale_height):
            scale_height = scale_width
        else:
            scale_width = scale_height
    return (
        max(multiple, round(scale_width * width / multiple) * multiple),
        max(multiple, round(scale_height * height / multiple) * multiple),
    )


def smart_resize(upright: Size, factor: int, min_pixels: int, max_pixels: int) -> Size:
    """Qwen2-VL's smart_resize: sides multiples of `factor`, area within the bounds."""
    width, height = upright
    if max(height, width) / min(height, width) > MAX_ASPECT:
        raise ImageTooLarge(
            f"this image's aspect ratio is over {MAX_ASPECT}:1, more than the profile takes"
        )
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return w_bar, h_bar
