"""A bounded pool for pixel work: threads (Pillow and libjpeg release the GIL) plus a queue.

A job whose caller goes (a cancelled call, a passed deadline) leaves the queue if it has not
started; if it has, its Cancellation is set, and it stops at its next checkpoint (a JPEG XL
decode is killed at once), so it stops holding a worker."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from imagescaler.runtime.cancellation import Cancellation, run_cancellable
from imagescaler.runtime.errors import Overloaded

ResultT = TypeVar("ResultT")


class WorkerPool:
    """Runs at most `workers` jobs at once with `queue_depth` more waiting; refuses the rest.
    Heavy jobs (those whose cost the bytes do not bound: JPEG XL) run on all workers but one,
    so a caller sending many cannot take every worker from the others."""

    def __init__(self, workers: int, queue_depth: int) -> None:
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="pixels")
        self._workers = workers
        self._queue_depth = queue_depth
        self._admitted = 0
        self._lock = threading.Lock()
        self._heavy = asyncio.Semaphore(max(1, workers - 1))

    async def run(self, job: Callable[..., ResultT], *args: object, heavy: bool = False) -> ResultT:
        """Run `job(*args)` on a worker thread, or raise Overloaded at once when full."""
        self._admit()
        if heavy:
            try:
                await self._heavy.acquire()
            except asyncio.CancelledError:
                self._release()
                raise
        cancellation = Cancellation()
        # The caller's context goes with the job: its request id reaches any log line made
        # on the worker thread (libvips' warnings, through pyvips' logger).
        context = contextvars.copy_context()
        future = self._executor.submit(context.run, run_cancellable, cancellation, job, *args)
        # Released when the job really ends, even if the caller gave up waiting.
        future.add_done_callback(self._on_end(heavy, asyncio.get_running_loop()))
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            cancellation.cancel()  # a queued job was dropped with the wrapper; a running one stops
            raise

    def _admit(self) -> None:
        with self._lock:
            if self._admitted >= self._workers + self._queue_depth:
                raise Overloaded(
                    f"the image service is at capacity ({self._workers} images in work, "
                    f"{self._queue_depth} queued); retry shortly"
                )
            self._admitted += 1

    def _on_end(
        self, heavy: bool, loop: asyncio.AbstractEventLoop
    ) -> Callable[[Future[Any]], None]:
        def ended(_: Future[Any]) -> None:
            self._release()
            if heavy:
                with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits
                    loop.call_soon_threadsafe(self._heavy.release)

        return ended

    def _release(self) -> None:
        with self._lock:
            self._admitted -= 1

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
