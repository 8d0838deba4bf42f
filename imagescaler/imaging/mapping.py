"""Geometry of a preprocessed image, and mapping points and boxes between output and source.

Convention: continuous pixel coordinates, as Pillow's resize uses them. Pixel (i, j) covers
[i, i + 1) x [j, j + 1), so its centre is (i + 0.5, j + 0.5); a box [x0, y0, x1, y1] is in the
same coordinates. Source coordinates are those of the upright image (EXIF orientation
applied). Both affine maps are exact inverses of each other."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, overload

import numpy as np

Box = tuple[float, float, float, float]
Point = tuple[float, float]
Affine = tuple[tuple[float, float, float], tuple[float, float, float]]


@dataclass(frozen=True)
class Geometry:
    """Where the output's pixels came from."""

    source_size: tuple[int, int]  # stored [w, h]
    orientation: int  # EXIF orientation, 1-8
    upright_size: tuple[int, int]  # [w, h] after orientation
    decode_scale: float  # decoded width / upright width (DCT scaling on load; 1 = full)
    crop_box: Box  # in upright source pixels
    scale: tuple[float, float]  # output pixels per source pixel, [sx, sy]
    padding: tuple[int, int, int, int]  # [left, top, right, bottom] output pixels of fill
    output_size: tuple[int, int]
    margin_skipped: bool  # the margin rule left the size alone

    @property
    def output_to_source(self) -> Affine:
        (sx, sy), (left, top) = self.scale, self.padding[:2]
        x0, y0 = self.crop_box[:2]
        return ((1 / sx, 0.0, x0 - left / sx), (0.0, 1 / sy, y0 - top / sy))

    @property
    def source_to_output(self) -> Affine:
        (sx, sy), (left, top) = self.scale, self.padding[:2]
        x0, y0 = self.crop_box[:2]
        return ((sx, 0.0, left - x0 * sx), (0.0, sy, top - y0 * sy))

    def to_source(self, points: Iterable[Point]) -> list[Point]:
        """Output coordinates (say, a model's keypoints) to upright source coordinates."""
        return [_apply(self.output_to_source, point) for point in points]

    def to_output(self, points: Iterable[Point]) -> list[Point]:
        return [_apply(self.source_to_output, point) for point in points]

    @overload
    def box_to_source(self, box: Box) -> Box: ...
    @overload
    def box_to_source(self, box: np.ndarray) -> np.ndarray: ...
    def box_to_source(self, box: Box | np.ndarray) -> Box | np.ndarray:
        """An output box [x0, y0, x1, y1] (a detection) in upright source coordinates; or a
        detector's N x 4 array of them, as an N x 4 array."""
        if isinstance(box, np.ndarray):
            return _boxes(self.output_to_source, box)
        (x0, y0), (x1, y1) = self.to_source([box[:2], box[2:]])
        return (x0, y0, x1, y1)

    @overload
    def box_to_output(self, box: Box) -> Box: ...
    @overload
    def box_to_output(self, box: np.ndarray) -> np.ndarray: ...
    def box_to_output(self, box: Box | np.ndarray) -> Box | np.ndarray:
        if isinstance(box, np.ndarray):
            return _boxes(self.source_to_output, box)
        (x0, y0), (x1, y1) = self.to_output([box[:2], box[2:]])
        return (x0, y0, x1, y1)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with both affine maps."""
        return {
            "source_size": list(self.source_size),
            "orientation": self.orientation,
            "upright_size": list(self.upright_size),
            "decode_scale": self.decode_scale,
            "crop_box": list(self.crop_box),
            "scale": list(self.scale),
            "padding": list(self.padding),
            "output_size": list(self.output_size),
            "margin_skipped": self.margin_skipped,
            "output_to_source": [list(row) for row in self.output_to_source],
            "source_to_output": [list(row) for row in self.source_to_output],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Geometry:
        """The inverse of as_dict (the affine maps are derived, so they are not read)."""
        return cls(
            tuple(data["source_size"]),
            int(data["orientation"]),
            tuple(data["upright_size"]),
            float(data["decode_scale"]),
            tuple(data["crop_box"]),
            tuple(data["scale"]),
            tuple(data["padding"]),
            tuple(data["output_size"]),
            bool(data["margin_skipped"]),
        )


def _apply(affine: Affine, point: Point) -> Point:
    (a, b, c), (d, e, f) = affine
    x, y = point
    return (a * x + b * y + c, d * x + e * y + f)


def _boxes(affine: Affine, boxes: np.ndarray) -> np.ndarray:
    """Boxes [x0, y0, x1, y1] (N x 4) through an axis-aligned affine map."""
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes: an N x 4 array of [x0, y0, x1, y1], not shape {boxes.shape}")
    (sx, _, tx), (_, sy, ty) = affine
    scale = np.array([sx, sy, sx, sy])
    shift = np.array([tx, ty, tx, ty])
    mapped: np.ndarray = np.asarray(boxes, np.float64) * scale + shift
    return mapped
