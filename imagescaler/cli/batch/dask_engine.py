"""The Dask engine: the same per-item core as the local engine (engines.run_profile: bytes and
a profile in, a sample or an error row out) as tasks on a Dask distributed cluster, the
shards written here by the same writer. Outcomes come back in completion order with a bounded
number in flight, as from the other engines.

With no scheduler named, a LocalCluster of worker processes, everything it listens on bound to
127.0.0.1.
A worker that dies mid-task has its tasks run again elsewhere by the scheduler; an image that
takes down worker after worker (`distributed.scheduler.allowed-failures`) fails alone, with
reason `worker_killed`. A scheduler that goes away ends the run with EngineFailed: finished
shards are kept, and a rerun resumes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

from imagescaler.cli.batch.engines import EngineFailed, Job, Outcome, Work, run_profile
from imagescaler.imaging.formats import Limits, configure_pillow
from imagescaler.imaging.profiles import Profile

CONNECT_SECONDS = 30
WINDOW_CHECK = 64  # jobs between looks at how many worker threads the cluster has
# The HTTP servers of a local cluster's scheduler and workers (health, metrics; a dashboard
# when bokeh is installed): on loopback and a free port, never 0.0.0.0:8787.
LOOPBACK_ANY_PORT = "127.0.0.1:0"


def dask_item(index: int, data: bytes, work: Work, pixels: Profile, limits: Limits) -> Outcome:
    """One image, in a Dask worker process."""
    configure_pillow(limits.max_pixels)
    return run_profile(index, data, work, pixels, limits)


class DaskEngine:
    def __init__(self, work: Work, limits: Limits, scheduler: str | None, workers: int) -> None:
        self._work = work
        self._limits = limits
        self._scheduler = scheduler
        self._workers = workers

    @property
    def where(self) -> str:
        return self._scheduler or f"a local Dask cluster of {self._workers} processes"

    def run(self, jobs: Iterator[Job]) -> Iterator[Outcome]:
        try:
            from distributed import as_completed
        except ImportError:
            raise EngineFailed(
                "--engine dask needs distributed: pip install 'imagescaler[dask]'"
            ) from None
        with ExitStack() as stack:
            client = self._connect(stack)
            pixels, run_id = self._work.pixels, uuid.uuid4().hex[:8]
            futures: Any = as_completed()
            in_flight, window = 0, self._window(client)
            for submitted, job in enumerate(jobs, 1):
                futures.add(client.submit(
                    dask_item, job.index, job.content, self._work, pixels, self._limits,
                    key=f"imagescaler-{run_id}-{job.index}", pure=False, retries=0,
                ))  # fmt: skip
                in_flight += 1
                if submitted % WINDOW_CHECK == 0:
                    window = self._window(client)  # workers come and go (autoscaling)
                if in_flight >= window:
                    yield self._outcome(next(futures))
                    in_flight -= 1
            for future in futures:
                yield self._outcome(future)

    def _window(self, client: Any) -> int:
        """Two tasks in flight per worker thread, once there is at least one worker."""
        try:
            client.wait_for_workers(1, timeout=CONNECT_SECONDS)
        except TimeoutError:
            raise EngineFailed(f"the Dask cluster at {self.where} has no worker") from None
        threads: int = sum(client.nthreads().values())
        return 2 * max(1, threads)

    def _connect(self, stack: ExitStack) -> Any:
        from distributed import Client, LocalCluster

        try:
            if self._scheduler is None:
                cluster = stack.enter_context(LocalCluster(
                    n_workers=self._workers, threads_per_worker=1, processes=True,
                    host="127.0.0.1", dashboard_address=LOOPBACK_ANY_PORT,
                    worker_dashboard_address=LOOPBACK_ANY_PORT, silence_logs=40,
                ))  # fmt: skip
                return stack.enter_context(Client(cluster))
            return stack.enter_context(Client(self._scheduler, timeout=CONNECT_SECONDS))
        except (OSError, TimeoutError) as error:
            raise EngineFailed(
                f"cannot reach the Dask scheduler at {self.where}: {error}"
            ) from None

    def _outcome(self, future: Any) -> Outcome:
        from distributed import KilledWorker

        index = int(str(future.key).rsplit("-", 1)[1])
        try:
            outcome: Outcome = future.result()
        except KilledWorker as error:
            return Outcome(index, reason="worker_killed", message=f"Dask: {error}")
        except Exception as error:
            raise EngineFailed(
                f"the Dask cluster at {self.where} failed: {type(error).__name__}: {error}"
            ) from None
        finally:
            future.release()
        return outcome
