"""Test support: shared images, pixel comparisons and real servers on ephemeral ports."""

from __future__ import annotations

import asyncio
import io
import math
import threading
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from PIL import Image, ImageChops, ImageStat

ROOT = Path(__file__).resolve().parent.parent
SHARED_IMAGES = ROOT.parent / "shared" / "images"
T = TypeVar("T")


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


class LoopThread:
    """An asyncio loop in a background thread, so sync tests can drive async servers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


def start_in(loop: LoopThread, factory: Callable[[], Awaitable[T]]) -> T:
    async def start() -> T:
        return await factory()

    return loop.run(start())
