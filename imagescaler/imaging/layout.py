"""Where a profile's size rule puts an upright image: the source box that is resampled, the
size it becomes, and the canvas it is placed on. All in upright source pixels."""

from __future__ import annotations

import math
from dataclasses import dataclass

from imagescaler.imaging.profiles import (
    Cover,
    Edges,
    Fit,
    LongestEdge,
    MultipleOf,
    Pad,
    PadSquare,
    PixelBudget,
    Profile,
    ShortestEdge,
    Stretch,
    StretchCrop,
)
from imagescaler.imaging.resize_plan import Box, centre_crop, fit_inside, within_margin
from imagescaler.imaging.size_arithmetic import (
    detr_size,
    dpt_size,
    sam_size,
    smart_resize,
    yolos_size,
)

Size = tuple[int, int]


@dataclass(frozen=True)
class Layout:
    """crop_box (source pixels) is resampled to `resized` and placed at `offset` on `canvas`."""

    crop_box: Box
    resized: Size
    canvas: Size
    offset: Size = (0, 0)
    margin_skipped: bool = False
    # shortest_edge as PIL-based training code does it: resize the whole image to this size,
    # then cut `resized` out at this offset (the same geometry as crop_box -> resized).
    resize_then_crop: tuple[Size, Size] | None = None

    @property
    def scale(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.crop_box
        return (self.resized[0] / (x1 - x0), self.resized[1] / (y1 - y0))

    @property
    def padding(self) -> tuple[int, int, int, int]:
        left, top = self.offset
        right = self.canvas[0] - self.resized[0] - left
        bottom = self.canvas[1] - self.resized[1] - top
        return (left, top, right, bottom)


def plan_layout(upright: Size, profile: Profile) -> Layout:
    rule = profile.size
    if isinstance(rule, ShortestEdge):
        return _shortest_edge(upright, rule)
    if isinstance(rule, StretchCrop):
        return _resize_then_crop(upright, (rule.width, rule.height), rule.crop)
    if isinstance(rule, PadSquare):
        # The square the image is padded to, beyond it at the bottom and right, all resized.
        side = float(max(upright))
        target = (rule.width, rule.height)
        return Layout((0.0, 0.0, side, side), target, target)
    if isinstance(rule, Edges | LongestEdge | MultipleOf | PixelBudget):
        return _whole(upright, rule)
    return _to_target(upright, rule, profile.margin)


def _to_target(upright: Size, rule: Stretch | Fit | Cover | Pad, margin: float) -> Layout:
    """The rules with a target size (the original ScaleImage's), and its margin rule."""
    full: Box = (0.0, 0.0, float(upright[0]), float(upright[1]))
    target = (rule.width, rule.height)
    if margin and within_margin(upright, target, margin):
        return Layout(full, upright, upright, margin_skipped=True)
    if isinstance(rule, Stretch):
        return Layout(full, target, target)
    if isinstance(rule, Cover):
        return Layout(centre_crop(upright, target), target, target)
    fitted = fit_inside(upright, target)
    if isinstance(rule, Fit):
        return Layout(full, fitted, fitted)
    return _letterbox(full, fitted, rule)


def _letterbox(full: Box, fitted: Size, rule: Pad) -> Layout:
    canvas = (rule.width, rule.height)
    if rule.stride is not None:
        stride = rule.stride
        canvas = (
            min(rule.width, math.ceil(fitted[0] / stride) * stride),
            min(rule.height, math.ceil(fitted[1] / stride) * stride),
        )
    offset = ((canvas[0] - fitted[0]) // 2, (canvas[1] - fitted[1]) // 2)
    return Layout(full, fitted, canvas, offset)


def _shortest_edge(upright: Size, rule: ShortestEdge) -> Layout:
    """The shorter side to `edge`, the longer int(edge * long / short), as torchvision and the
    Hugging Face processors compute it; then the centre crop, top-left rounded down."""
    width, height = upright
    short, long = min(width, height), max(width, height)
    new_long = int(rule.edge * long / short)
    whole = (rule.edge, new_long) if width <= height else (new_long, rule.edge)
    return _resize_then_crop(upright, whole, rule.crop)


def _resize_then_crop(upright: Size, whole: Size, crop: Size) -> Layout:
    """The whole image resized to `whole`, then the centre `crop`, its top-left rounded down
    (as the Hugging Face processors' center_crop does)."""
    width, height = upright
    left, top = (whole[0] - crop[0]) // 2, (whole[1] - crop[1]) // 2
    sx, sy = whole[0] / width, whole[1] / height
    box = (left / sx, top / sy, (left + crop[0]) / sx, (top + crop[1]) / sy)
    return Layout(box, crop, crop, resize_then_crop=(whole, (left, top)))


def _whole(upright: Size, rule: Edges | LongestEdge | MultipleOf | PixelBudget) -> Layout:
    """The whole image resized to the size the rule computes; placed on the rule's canvas when
    it pads."""
    full: Box = (0.0, 0.0, float(upright[0]), float(upright[1]))
    if isinstance(rule, Edges):
        resized = (
            detr_size(upright, rule.shortest, rule.longest)
            if rule.multiple is None
            else yolos_size(upright, rule.shortest, rule.longest, rule.multiple)
        )
    elif isinstance(rule, LongestEdge):
        resized = sam_size(upright, rule.edge)
    elif isinstance(rule, MultipleOf):
        resized = dpt_size(upright, (rule.width, rule.height), rule.multiple, rule.keep_aspect)
    else:
        resized = smart_resize(upright, rule.factor, rule.min_pixels, rule.max_pixels)
    pad = rule.pad if isinstance(rule, LongestEdge) else None
    if pad is None:
        return Layout(full, resized, resized)
    canvas = (pad.width, pad.height)
    offset = (0, 0)
    if pad.align == "centre":
        offset = ((canvas[0] - resized[0]) // 2, (canvas[1] - resized[1]) // 2)
    return Layout(full, resized, canvas, offset)
