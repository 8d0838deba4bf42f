"""`imagescaler bench --quick` produces a well-formed table and JSON (figures are not judged)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT, SHARED_IMAGES

pytestmark = pytest.mark.slow


def test_quick_bench_prints_a_table_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "imagescaler",
            "bench",
            "--quick",
            "--no-thumbor",
            "--shared",
            str(SHARED_IMAGES),
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for heading in ("method", "median ms", "vs floor", "end to end", "req/s", "p99 ms", "target"):
        assert heading in result.stdout
    results = json.loads(out.read_text())
    methods = {t["name"] for t in results["inprocess"]["1.8 MP JPEG"]}
    assert {"libjpeg-turbo floor", "ours", "naive Pillow"} <= methods
    for target in ("gRPC API", "REST gateway"):
        runs = results["end_to_end"][target]
        assert [r["concurrency"] for r in runs] == [1, 2]
        assert all(r["requests"] > 0 and not r["errors"] for r in runs)
    assert results["memory"]["peak_rss_mib"] > 0
    assert set(results["memory"]["services"]) == {"image service", "API", "gateway"}
    assert results["memory"]["p99_ms_second_half"] > 0
    assert "soak:" in result.stdout
    assert set(results["pool"]) == {"threads", "processes"}
    assert results["stream"]["images_per_second"] > 0 and not results["stream"]["errors"]
    spent = results["stream"]["cpu_ms_per_image"]
    assert set(spent) == {"client", "API", "image service"} and spent["image service"] > 0
    assert results["stream"]["cpu_bound"] > 0 and "CPU ms per image: stream client" in result.stdout
    assert "PreprocessStream" in result.stdout
    # A smoke run shows the targets without judging them: no "NOT MET" to alarm a new user.
    assert "NOT MET" not in result.stdout and "the targets are not judged" in result.stdout
    assert {t["target"] for t in results["targets"]} >= {
        "ours / libjpeg-turbo floor",
        "gRPC API end to end (c=1 p50) / processing",
        "image service peak RSS",
        "PreprocessStream / in-process pool",
        "batch --local yolo-640 (run) / in-process pool",
        "batch --server yolo-640 (run) / in-process pool",
        "batch --local default (run) / in-process pool",
    }
    for batch in results["batch"]:
        assert batch["local"]["exit_status"] == 0 and batch["server"]["exit_status"] == 0
        assert batch["local"]["bytes_per_sample"] > 0
        assert batch["local"]["run_images_per_second"] > batch["local"]["images_per_second"]
