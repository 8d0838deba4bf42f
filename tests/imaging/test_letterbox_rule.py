"""yolo-640 is ultralytics' LetterBox. ultralytics needs torch, so its rule is written out here
from its documented algorithm (ultralytics/data/augment.py, LetterBox.__call__, center=True,
scaleup=True) and compared, size for size, with our layout: auto=False is `pad` at 640x640,
auto=True (the smallest stride-32 rectangle) is `pad` with stride=32. The pixels differ by
design: ultralytics resizes with OpenCV's INTER_LINEAR, which does not antialias."""

from __future__ import annotations

import random

import numpy as np
import pytest

from imagescaler.imaging.builtin_profiles import BUILTIN_PROFILES
from imagescaler.imaging.layout import plan_layout
from imagescaler.imaging.preprocess import preprocess
from imagescaler.imaging.profiles import Pad
from tests.support.images import shared_image


def ultralytics_letterbox(
    size: tuple[int, int], new_shape: tuple[int, int] = (640, 640), auto: bool = False,
    stride: int = 32,
) -> tuple[tuple[int, int], tuple[int, int, int, int]]:  # fmt: skip
    """LetterBox's sums: the resized (width, height) and the border (left, top, right, bottom)."""
    shape = size[1], size[0]  # (h, w), as OpenCV's arrays are
    r = min(new_shape[0] / shape[0], new_shape[1] / shape[1])
    new_unpad = round(shape[1] * r), round(shape[0] * r)
    dw, dh = new_shape[1] - new_unpad[0], new_shape[0] - new_unpad[1]
    if auto:
        dw, dh = int(np.mod(dw, stride)), int(np.mod(dh, stride))
    dw_half, dh_half = dw / 2, dh / 2
    top, bottom = round(dh_half - 0.1), round(dh_half + 0.1)
    left, right = round(dw_half - 0.1), round(dw_half + 0.1)
    return new_unpad, (left, top, right, bottom)


SIZES = [(500, 375), (375, 500), (1400, 1316), (3024, 4032), (640, 640), (641, 1), (33, 999)]
random.seed(4711)
SIZES += [(random.randint(1, 5000), random.randint(1, 5000)) for _ in range(300)]


@pytest.mark.parametrize("auto", [False, True])
def test_our_letterbox_is_ultralytics_letterbox_size_for_size(auto: bool) -> None:
    base = BUILTIN_PROFILES["yolo-640"]
    assert isinstance(base.size, Pad) and base.size.fill == (114, 114, 114)
    rule = Pad(width=640, height=640, fill=114, stride=32 if auto else None)
    profile = base.model_copy(update={"size": rule})
    for size in SIZES:
        layout = plan_layout(size, profile)
        resized, border = ultralytics_letterbox(size, auto=auto)
        assert layout.resized == resized, size
        assert layout.padding == border, size


def test_the_border_is_grey_114_and_the_tensor_is_rgb_in_0_1() -> None:
    result = preprocess(shared_image("bird_1920x1080.jpg"), BUILTIN_PROFILES["yolo-640"])
    assert result.array is not None and result.array.shape == (3, 640, 640)
    left, top, right, bottom = result.geometry.padding
    assert (left, right) == (0, 0) and top == bottom == 140  # 1920x1080 -> 640x360
    assert np.allclose(result.array[:, :top, :], 114 / 255)
    assert np.allclose(result.array[:, -bottom:, :], 114 / 255)
