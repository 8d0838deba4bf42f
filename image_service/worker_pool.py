"""A bounded pool for pixel work: threads (Pillow and libjpeg release the GIL) plus a queue."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from imagescaler.runtime.errors import Overloaded

ResultT = TypeVar("ResultT")


class WorkerPool:
    """Runs at most `workers` jobs at once with `queue_depth` more waiting; refuses the rest."""

    def __init__(self, workers: int, queue_depth: int) -> None:
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="pixels")
        self._workers = workers
        self._queue_depth = queue_depth
        self._admitted = 0
        self._lock = threading.Lock()

    async def run(self, job: Callable[..., ResultT], *args: object) -> ResultT:
        """Run `job(*args)` on a worker thread, or raise Overloaded at once when full."""
        with self._lock:
            if self._admitted >= self._workers + self._queue_depth:
                raise Overloaded(
                    f"the image service is at capacity ({self._workers} images in work, "
                    f"{self._queue_depth} queued); retry shortly"
                )
            self._admitted += 1
        future = self._executor.submit(job, *args)
        # Released when the job really ends, even if the caller gave up waiting.
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)

    def _release(self, _: Future[Any]) -> None:
        with self._lock:
            self._admitted -= 1

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
