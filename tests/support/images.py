"""The shared images, and pixel comparisons in the style of Pillow's Tests/helper.py."""

from __future__ import annotations

import io
import math
from typing import Any

from PIL import Image, ImageChops, ImageStat

from tests.support.paths import SHARED_IMAGES


def shared_image(name: str) -> bytes:
    return (SHARED_IMAGES / name).read_bytes()


def open_bytes(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def encode(image: Image.Image, fmt: str = "PNG", **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel value, 0-255."""
    assert a.size == b.size, (a.size, b.size)
    stat = ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB")))
    return sum(stat.mean) / len(stat.mean)


def psnr(a: Image.Image, b: Image.Image) -> float:
    assert a.size == b.size, (a.size, b.size)
    stat = ImageStat.Stat(ImageChops.difference(a.convert("L"), b.convert("L")))
    mse = stat.sum2[0] / (a.width * a.height)
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def assert_image_similar(a: Image.Image, b: Image.Image, epsilon: float) -> None:
    difference = mean_difference(a, b)
    assert difference <= epsilon, f"mean difference {difference:.2f} > {epsilon}"
