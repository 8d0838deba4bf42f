"""The work of a run, jobs in and outcomes out, and the local engine: the library in a pool
of threads. The server engine (server_engine.py) streams the same jobs through a deployment.
Both yield outcomes in completion order, with a bounded number in flight."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from imagescaler.imaging.formats import Limits, configure_pillow
from imagescaler.shards.items import Outcome, Work, run_profile, tensor_outcome

__all__ = ["EngineFailed", "Job", "LocalEngine", "Outcome", "Work", "run_profile", "tensor_outcome"]


class EngineFailed(Exception):
    """The engine itself failed (a server gone, a stream refused): one line, exit status 1;
    what was finished is kept and a rerun resumes."""


@dataclass(frozen=True)
class Job:
    index: int
    content: bytes  # empty for a URL the server fetches
    url: str = ""


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
