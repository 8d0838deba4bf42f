"""In-process timings of one image: the libjpeg-turbo floor, ours, naive Pillow and pyvips."""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import numpy
import simplejpeg
from PIL import Image, ImageOps

from imagescaler.imaging.builtin_profiles import default_profile
from imagescaler.imaging.formats import Limits, read_header
from imagescaler.imaging.preprocess import preprocess


@dataclass(frozen=True)
class Timing:
    """Per-call times in milliseconds of one in-process measurement."""

    name: str
    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def best(self) -> float:
        return min(self.samples)


TARGET = (1024, 768)
LIMITS = Limits(max_bytes=1 << 30, max_pixels=200_000_000)
DEFAULT = default_profile(target=TARGET)  # what ScaleImage does with the default flags


def time_calls(name: str, job: Callable[[], object], repeats: int) -> Timing:
    job()  # warm caches and lazy imports
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        job()
        samples.append((time.perf_counter() - started) * 1000)
    return Timing(name, tuple(samples))


def ours(data: bytes) -> bytes:
    result = preprocess(data, DEFAULT, LIMITS)
    assert result.data is not None
    return result.data


def floor_of(data: bytes) -> Callable[[bytes], bytes]:
    """libjpeg-turbo alone: gray decode at the smallest DCT scale covering the target, then
    encoding a target-sized part of it. No resampling, no orientation: a bound, not a product."""
    header = read_header(data, LIMITS)
    need = TARGET[::-1] if header.transposed else TARGET

    def floor(data: bytes) -> bytes:
        pixels = simplejpeg.decode_jpeg(
            data, colorspace="GRAY", min_width=need[0], min_height=need[1]
        )
        target_part = numpy.ascontiguousarray(pixels[: need[1], : need[0]])
        return bytes(simplejpeg.encode_jpeg(target_part, quality=90, colorspace="GRAY"))

    return floor


def naive_pillow(data: bytes) -> bytes:
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("L")
    out = io.BytesIO()
    image.resize(TARGET, Image.Resampling.LANCZOS).save(out, "JPEG", quality=90)
    return out.getvalue()


def pyvips_thumbnail() -> Callable[[bytes], bytes]:
    import pyvips

    pyvips.concurrency_set(1)
    pyvips.cache_set_max(0)

    def thumbnail(data: bytes) -> bytes:
        image = pyvips.Image.thumbnail_buffer(data, TARGET[0], height=TARGET[1], size="force")
        return bytes(image.colourspace("b-w").write_to_buffer(".jpg[Q=90]"))

    return thumbnail


def compare(data: bytes, repeats: int, is_jpeg: bool) -> list[Timing]:
    """Each way of doing the job on `data`, timed single-threaded."""
    jobs: dict[str, Callable[[bytes], bytes]] = {"ours": ours, "naive Pillow": naive_pillow}
    if is_jpeg:
        jobs = {"libjpeg-turbo floor": floor_of(data), **jobs}
    vips = pyvips_thumbnail()
    if _decodes(vips, data):  # pyvips' binary wheel has no HEVC decoder: no HEIC row
        jobs["pyvips thumbnail"] = vips
    return [time_calls(name, partial(job, data), repeats) for name, job in jobs.items()]


def _decodes(job: Callable[[bytes], bytes], data: bytes) -> bool:
    import pyvips

    try:
        job(data)
    except pyvips.Error:
        return False
    return True


def pool_throughput(data: bytes, workers: int, images: int) -> dict[str, float]:
    """Images per second through `workers` threads and through `workers` processes."""
    results = {}
    for kind, pool in (("threads", ThreadPoolExecutor), ("processes", ProcessPoolExecutor)):
        with pool(workers) as executor:
            _drain(executor, data, workers)  # start the workers before timing
            started = time.perf_counter()
            _drain(executor, data, images)
            results[kind] = images / (time.perf_counter() - started)
    return results


def _drain(executor: Executor, data: bytes, count: int) -> None:
    for future in [executor.submit(ours, data) for _ in range(count)]:
        future.result()
