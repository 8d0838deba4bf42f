"""The work of a run, jobs in and outcomes out, and the local engine: the library in a pool
of threads. The server engine (server_engine.py) streams the same jobs through a deployment.
Both yield outcomes in completion order, with a bounded number in flight."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np

from imagescaler.imaging.encoding import OUTPUT_FORMATS
from imagescaler.imaging.formats import Limits, configure_pillow
from imagescaler.imaging.preprocess import preprocess
from imagescaler.imaging.profiles import Profile, TensorOutput
from imagescaler.imaging.tensors import npy_bytes
from imagescaler.runtime.errors import ServiceError
from imagescaler.shards.layout import LEVELS, tensor_spec


class EngineFailed(Exception):
    """The engine itself failed (a server gone, a stream refused): one line, exit status 1;
    what was finished is kept and a rerun resumes."""


@dataclass(frozen=True)
class Job:
    index: int
    content: bytes  # empty for a URL the server fetches
    url: str = ""


@dataclass(frozen=True)
class Outcome:
    index: int
    extension: str = ""  # npy, jpg, png, webp; empty when it failed
    data: bytes = b""
    profile: str = ""
    geometry: dict[str, Any] | None = None
    output: str = ""
    tensor: dict[str, Any] | None = None  # tensor profiles: tensor_spec()
    reason: str = ""
    message: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.extension)


@dataclass(frozen=True)
class Work:
    """What the engines do to each image: the profile, and how its tensors are stored."""

    profile: Profile
    store: str | None  # LEVELS or TENSOR for tensor profiles, None for image profiles

    @property
    def pixels(self) -> Profile:
        """The profile run for the pixels: levels are the profile's tensor before its
        rescale, mean and std, so a levels run asks for uint8 in the same layout."""
        output = self.profile.output
        if self.store != LEVELS or not isinstance(output, TensorOutput):
            return self.profile
        return self.profile.model_copy(
            update={"output": TensorOutput(dtype="uint8", layout=output.layout)}
        )


def run_profile(index: int, data: bytes, work: Work, pixels: Profile, limits: Limits) -> Outcome:
    """In a worker: preprocess() one image; a bad image is an outcome, not an error."""
    try:
        result = preprocess(data, pixels, limits)
    except ServiceError as error:
        return Outcome(index, reason=error.reason, message=error.message)
    except Exception as error:  # reported per item, the run goes on
        return Outcome(index, reason="internal", message=f"{type(error).__name__}: {error}")
    geometry = result.geometry.as_dict()
    output = work.profile.output
    if result.array is not None and isinstance(output, TensorOutput):
        assert work.store is not None
        spec = tensor_spec(output, work.store)
        return tensor_outcome(index, result.array, reference=work.profile.reference,
                              geometry=geometry, output=output, spec=spec)  # fmt: skip
    assert result.data is not None and result.format is not None
    width, height = result.geometry.output_size
    extension = OUTPUT_FORMATS[result.format].extension
    return Outcome(index, extension, result.data, work.profile.reference, geometry,
                   f"{width}x{height} {extension}")  # fmt: skip


def tensor_outcome(
    index: int,
    array: np.ndarray,
    *,
    reference: str,
    geometry: dict[str, Any],
    output: TensorOutput,
    spec: dict[str, Any],
) -> Outcome:
    shape = "x".join(map(str, array.shape))
    return Outcome(index, "npy", npy_bytes(array), reference, geometry,
                   f"{shape} {output.dtype}", spec)  # fmt: skip


class LocalEngine:
    """The library in a pool of threads, one per core. Pillow, libjpeg-turbo and NumPy release
    the GIL for the pixel work, and threads hand back tensors without copying them between
    processes (the bench measured threads ahead of processes here; docs/benchmarks.md)."""

    def __init__(self, work: Work, workers: int, limits: Limits) -> None:
        self._work = work
        self._workers = workers
        self._limits = limits

    def run(self, jobs: Iterator[Job]) -> Iterator[Outcome]:
        configure_pillow(self._limits.max_pixels)
        window = 2 * self._workers
        pixels = self._work.pixels
        with ThreadPoolExecutor(self._workers, thread_name_prefix="batch") as pool:
            pending: set[Future[Outcome]] = set()
            try:
                for job in jobs:
                    if len(pending) >= window:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        yield from (future.result() for future in done)
                    pending.add(pool.submit(
                        run_profile, job.index, job.content, self._work, pixels, self._limits
                    ))  # fmt: skip
                for future in pending:
                    yield future.result()
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
