"""`imagescaler batch --engine dask` on a real Dask distributed cluster on 127.0.0.1: the same
samples as the local engine, a worker killed mid-run (no item lost or made twice), and a
scheduler that goes away (a clear error, then a rerun that resumes)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from imagescaler.shards.reader import raw_samples
from tests.support.dask_cluster import (
    DaskCluster,
    dask_cluster,
    listening_addresses,
    worker_count,
)
from tests.support.local_system import IMAGESCALER
from tests.support.paths import SHARED_IMAGES
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """60 photos (copies of one under different names), a few seconds of work on 2 cores."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for number in range(60):
        shutil.copy(SHARED_IMAGES / "bird_1920x1080.jpg", folder / f"bird-{number:02d}.jpg")
    return folder


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[DaskCluster]:
    with dask_cluster(tmp_path) as running:
        yield running


def batch(source: Path, out: Path, *args: str) -> subprocess.Popen[str]:
    command = [*IMAGESCALER, "batch", str(source), "--out", str(out), "--profile",
               "imagenet-224", "--shard-size", "4", *args]  # fmt: skip
    # A lost scheduler is given up on after 10 s, not distributed's default 30.
    env = {**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "10s"}
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = process.communicate(timeout=500)
    return process.returncode, out + err


def samples(out: Path) -> Counter[str]:
    """How many times each key is in the shards."""
    return Counter(
        str(raw["__key__"])
        for shard in sorted(out.glob("shard-*.tar"))
        for raw in raw_samples(shard)
    )


def sample_bytes(out: Path) -> dict[str, bytes]:
    return {
        str(raw["__key__"]): bytes(raw["npy"])  # type: ignore[arg-type]
        for shard in sorted(out.glob("shard-*.tar"))
        for raw in raw_samples(shard)
    }


def test_a_local_dask_cluster_makes_what_the_local_engine_makes(
    photos: Path, tmp_path: Path
) -> None:
    for name in list(os.listdir(photos))[12:]:
        (photos / name).unlink()
    status, output = finish(batch(photos, tmp_path / "local", "--local"))
    assert status == 0, output
    status, output = finish(
        batch(photos, tmp_path / "dask", "--engine", "dask", "--concurrency", "2")
    )
    assert status == 0, output
    assert "written        12" in output
    assert sample_bytes(tmp_path / "dask") == sample_bytes(tmp_path / "local")


def test_a_worker_killed_mid_run_loses_no_item_and_makes_none_twice(
    photos: Path, tmp_path: Path, cluster: DaskCluster
) -> None:
    out = tmp_path / "out"
    run = batch(photos, out, "--engine", "dask", "--scheduler", cluster.scheduler)
    victim = cluster.workers[0]
    try:
        wait_until((out / "shard-000001.tar").exists, 120, "two shards written")
        assert run.poll() is None, "the run ended before a worker could be killed"
        assert listening_addresses([*cluster.pids, run.pid]) <= {"127.0.0.1"}
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
    finally:
        status, output = finish(run)
    assert status == 0, output
    assert "written        60" in output
    counts = samples(out)
    assert len(counts) == 60 and set(counts.values()) == {1}, counts


def test_the_scheduler_gone_is_a_clear_error_and_a_rerun_resumes(
    photos: Path, tmp_path: Path, cluster: DaskCluster
) -> None:
    out = tmp_path / "out"
    run = batch(photos, out, "--engine", "dask", "--scheduler", cluster.scheduler)
    try:
        wait_until((out / "shard-000001.tar").exists, 120, "two shards written")
        assert run.poll() is None, "the run ended before the scheduler could be stopped"
        cluster.scheduler_process.send_signal(signal.SIGKILL)
    finally:
        status, output = finish(run)
    assert status == 1, output
    assert "Dask" in output and "finished shards are kept and a rerun resumes" in output
    done = sum(samples(out).values())
    assert done >= 8
    with dask_cluster(tmp_path / "again", workers=1) as second:
        assert worker_count(second.scheduler) == 1
        status, output = finish(
            batch(photos, out, "--engine", "dask", "--scheduler", second.scheduler)
        )
    assert status == 0, output
    skipped = re.search(r"skipped\s+(\d+)", output)
    assert skipped is not None and int(skipped[1]) == done, output
    counts = samples(out)
    assert len(counts) == 60 and set(counts.values()) == {1}, counts
