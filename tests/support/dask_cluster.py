"""A real Dask distributed cluster on 127.0.0.1: a `dask scheduler` and `dask worker`
processes (no nanny, so a killed worker stays dead), and what each process listens on."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.waiting import wait_until

DASK = str(Path(sys.executable).parent / "dask")


@dataclass
class DaskCluster:
    scheduler: str  # tcp://127.0.0.1:PORT
    scheduler_process: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def pids(self) -> list[int]:
        return [self.scheduler_process.pid, *(worker.pid for worker in self.workers)]


def start_worker(cluster: DaskCluster, log: Path, name: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        worker = subprocess.Popen(
            [DASK, "worker", cluster.scheduler, "--host", "127.0.0.1", "--nthreads", "1",
             "--no-nanny", "--dashboard-address", "127.0.0.1:0", "--name", name],
            stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    cluster.workers.append(worker)
    return worker


def worker_count(scheduler: str) -> int:
    from distributed import Client

    with Client(scheduler, timeout=10) as client:
        return len(client.scheduler_info()["workers"])


@contextmanager
def dask_cluster(folder: Path, workers: int = 2) -> Iterator[DaskCluster]:
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "scheduler.log"
    with log.open("wb") as output:
        scheduler = subprocess.Popen(
            # --no-dashboard still serves HTTP on 0.0.0.0: its address is given instead.
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0",
             "--dashboard-address", "127.0.0.1:0"],
            stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    found: list[str] = []

    def listening() -> bool:
        if scheduler.poll() is not None:
            raise RuntimeError(f"dask scheduler exited: {log.read_text()[-2000:]}")
        match = re.search(r"Scheduler at:\s+(tcp://127\.0\.0\.1:\d+)", log.read_text())
        found.extend([match[1]] if match else [])
        return bool(found)

    cluster = DaskCluster("", scheduler)
    try:
        wait_until(listening, 60, "the Dask scheduler listening")
        cluster.scheduler = found[0]
        for number in range(workers):
            start_worker(cluster, folder / f"worker-{number}.log", f"worker-{number}")
        wait_until(lambda: worker_count(cluster.scheduler) == workers, 60, "the workers joining")
        yield cluster
    finally:
        for process in [*cluster.workers, scheduler]:
            if process.poll() is None:
                process.kill()
            process.wait(10)


def listening_addresses(pids: list[int]) -> set[str]:
    """The local addresses the processes listen on (TCP), from `ss -ltnp`."""
    shown = subprocess.run(
        ["ss", "-ltnpH"], capture_output=True, text=True, timeout=10, check=True
    ).stdout
    found = set()
    for line in shown.splitlines():
        if any(f"pid={pid}," in line for pid in pids):
            found.add(line.split()[3].rsplit(":", 1)[0])
    return found
