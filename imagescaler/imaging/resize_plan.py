"""Resize planning: the source box, the size it is resampled to, and what a decode may shrink
to on load (a profile's layout, layout.py, makes the plan)."""

from __future__ import annotations

import math
from dataclasses import dataclass

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class ResizePlan:
    """What a decode is asked for: the `box` of an upright image of size `source` that will
    be resampled to `size` (shrink-on-load may aim no lower)."""

    source: tuple[int, int]
    box: Box
    size: tuple[int, int]

    def decode_size_needed(self) -> tuple[int, int]:
        """The smallest whole-image size that still gives `size` at least one source pixel each."""
        width, height = self.source
        left, top, right, bottom = self.box
        scale_x = self.size[0] / (right - left)
        scale_y = self.size[1] / (bottom - top)
        return max(1, math.ceil(width * scale_x)), max(1, math.ceil(height * scale_y))


def fit_inside(source: tuple[int, int], target: tuple[int, int]) -> tuple[int, int]:
    scale = min(target[0] / source[0], target[1] / source[1])
    width = min(target[0], max(1, round(source[0] * scale)))
    height = min(target[1], max(1, round(source[1] * scale)))
    return width, height


def centre_crop(source: tuple[int, int], target: tuple[int, int]) -> Box:
    scale = max(target[0] / source[0], target[1] / source[1])
    crop_width = min(float(source[0]), target[0] / scale)
    crop_height = min(float(source[1]), target[1] / scale)
    left = (source[0] - crop_width) / 2
    top = (source[1] - crop_height) / 2
    return (left, top, left + crop_width, top + crop_height)


def within_margin(size: tuple[int, int], target: tuple[int, int], margin: float) -> bool:
    """True when width and height are each within `margin` (a fraction, inclusive) of the target."""
    return all(
        abs(actual - wanted) <= margin * wanted + 1e-9
        for actual, wanted in zip(size, target, strict=True)
    )
