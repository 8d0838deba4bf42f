"""Geometry: a dot put at a known place comes out where the geometry says, in every EXIF
orientation and every size rule, and maps back to where it was put (within 1 px both ways)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from imagescaler.imaging.mapping import Geometry
from imagescaler.imaging.preprocess import preprocess
from imagescaler.imaging.profiles import (
    Cover,
    Edges,
    Fit,
    LongestEdge,
    MultipleOf,
    Pad,
    Padding,
    PadSquare,
    PixelBudget,
    Profile,
    ShortestEdge,
    Stretch,
    StretchCrop,
    TensorOutput,
)

UPRIGHT = (640, 480)
# Inside every rule's crop, away from the centre, not on a symmetry axis.
DOTS = [(0.41, 0.57), (0.62, 0.44)]
# The stored pixels that show the upright picture once EXIF `orientation` is applied.
STORE = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}
RULES = {
    "stretch": Stretch(width=300, height=300),
    "fit": Fit(width=320, height=320),
    "cover": Cover(width=256, height=256),
    "pad": Pad(width=320, height=320, fill=255),
    "pad-stride": Pad(width=320, height=320, fill=255, stride=32),
    "shortest_edge": ShortestEdge(edge=256, crop=(224, 224)),
    "stretch_crop": StretchCrop(width=300, height=280, crop=(256, 240)),
    "edges": Edges(shortest=300, longest=360),
    "edges-multiple": Edges(shortest=300, longest=1000, multiple=16),
    "longest_edge-pad": LongestEdge(edge=320, pad=Padding(width=320, height=320, fill=255)),
    "longest_edge-centre": LongestEdge(
        edge=300, pad=Padding(width=320, height=320, align="centre", fill=255)
    ),
    "multiple_of-aspect": MultipleOf(width=384, height=384, multiple=32, keep_aspect=True),
    "multiple_of": MultipleOf(width=300, height=200, multiple=32),
    "pixel_budget": PixelBudget(factor=28, min_pixels=3136, max_pixels=200_000),
    "pad_square": PadSquare(width=320, height=320, fill=255),
}


def dotted_jpeg(dot: tuple[float, float], orientation: int) -> tuple[bytes, tuple[float, float]]:
    """A white upright picture with a soft dark dot at `dot` (fractions), stored so that EXIF
    `orientation` turns it upright; returns the bytes and the dot's upright coordinates."""
    width, height = UPRIGHT
    cx, cy = dot[0] * width, dot[1] * height
    y, x = np.mgrid[0:height, 0:width] + 0.5  # pixel centres
    darkness = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 7.0**2))
    upright = Image.fromarray((255 - 200 * darkness).round().astype(np.uint8), "L").convert("RGB")
    transpose = STORE[orientation]
    stored = upright.transpose(transpose) if transpose is not None else upright
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", quality=98, exif=exif.tobytes())
    return buffer.getvalue(), (cx, cy)


def dot_centre(levels: np.ndarray) -> tuple[float, float]:
    """The darkness-weighted centroid, in continuous pixel coordinates (centres at +0.5)."""
    darkness = np.clip(250.0 - levels.astype(np.float64), 0, None)
    darkness[darkness < 0.3 * darkness.max()] = 0  # only the dot, not JPEG noise
    y, x = np.mgrid[0 : levels.shape[0], 0 : levels.shape[1]] + 0.5
    total = darkness.sum()
    return float((x * darkness).sum() / total), float((y * darkness).sum() / total)


@pytest.mark.parametrize(
    ("fidelity", "resample"),
    [("fast", "bilinear"), ("exact", "bilinear"), ("exact", "gaussian_linear")],
)
@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("dot", DOTS)
def test_a_dot_maps_to_where_it_was_put_and_back(
    dot: tuple[float, float], orientation: int, rule: str, fidelity: str, resample: str
) -> None:
    data, placed = dotted_jpeg(dot, orientation)
    profile = Profile(
        name="dots",
        version=1,
        size=RULES[rule],
        colour="L",
        resample=resample,  # type: ignore[arg-type]
        fidelity=fidelity,  # type: ignore[arg-type]
        output=TensorOutput(dtype="uint8", layout="HWC"),
    )
    result = preprocess(data, profile)
    assert result.array is not None
    geometry = result.geometry
    assert geometry.upright_size == UPRIGHT and geometry.orientation == orientation
    assert geometry.output_size == (result.array.shape[1], result.array.shape[0])
    found = dot_centre(result.array[:, :, 0])
    (expected,) = geometry.to_output([placed])
    assert np.hypot(found[0] - expected[0], found[1] - expected[1]) <= 1.0, (found, expected)
    (back,) = geometry.to_source([found])
    assert np.hypot(back[0] - placed[0], back[1] - placed[1]) <= 1.0, (back, placed)


def test_the_two_maps_are_inverses_and_boxes_round_trip() -> None:
    geometry = Geometry(
        (4032, 3024), 6, (3024, 4032), 0.25, (0.0, 0.0, 3024.0, 4032.0),
        (0.15873, 0.15873), (80, 0, 80, 0), (640, 640), margin_skipped=False,
    )  # fmt: skip
    box = (100.0, 50.0, 400.0, 600.0)
    round_trip = geometry.box_to_output(geometry.box_to_source(box))
    assert np.allclose(round_trip, box)
    assert Geometry.from_dict(geometry.as_dict()) == geometry
    # The letterbox's left edge is the source's left edge.
    assert np.allclose(geometry.to_source([(80.0, 0.0)]), [(0.0, 0.0)])
