"""The bounded pool refuses work beyond workers + queue at once."""

from __future__ import annotations

import asyncio
import threading

from image_service.worker_pool import WorkerPool
from imagescaler.runtime.errors import Overloaded
from tests.support.waiting import wait_until


def test_excess_work_is_refused_at_once_and_the_rest_completes() -> None:
    release = threading.Event()

    async def scenario() -> tuple[list[object], int]:
        pool = WorkerPool(workers=2, queue_depth=1)
        jobs = [asyncio.ensure_future(pool.run(release.wait, 10)) for _ in range(5)]
        # Tasks start in order: three are admitted, the last two refused without waiting.
        await asyncio.wait(jobs[3:], timeout=5)
        refused = [job for job in jobs if job.done()]
        release.set()
        results = await asyncio.gather(*jobs, return_exceptions=True)
        pool.shutdown()
        return results, len(refused)

    results, refused_early = asyncio.run(scenario())
    assert refused_early == 2
    assert sum(isinstance(result, Overloaded) for result in results) == 2
    assert results.count(True) == 3


def test_capacity_frees_when_jobs_end() -> None:
    async def scenario() -> list[int]:
        pool = WorkerPool(workers=1, queue_depth=0)
        values = [await pool.run(lambda n=n: n) for n in range(3)]
        pool.shutdown()
        return values

    assert asyncio.run(scenario()) == [0, 1, 2]


def test_heavy_jobs_leave_one_worker_to_the_rest() -> None:
    """Two workers: while one heavy job runs, a second waits for it, and light jobs pass."""
    release = threading.Event()
    started: list[str] = []

    def heavy(name: str) -> str:
        started.append(name)
        release.wait(10)
        return name

    async def scenario() -> list[str]:
        pool = WorkerPool(workers=2, queue_depth=4)
        first = asyncio.ensure_future(pool.run(heavy, "first", heavy=True))
        await asyncio.to_thread(wait_until, lambda: started == ["first"], 10, "first starting")
        second = asyncio.ensure_future(pool.run(heavy, "second", heavy=True))
        light = await pool.run(str.upper, "light")  # served while both heavy jobs are in
        assert started == ["first"], "the second heavy job started beside the first"
        release.set()
        results = [light, *await asyncio.gather(first, second)]
        pool.shutdown()
        return results

    assert asyncio.run(scenario()) == ["LIGHT", "first", "second"]
