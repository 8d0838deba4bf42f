"""The Ray Data adapter: its map_batches class without a cluster, and a whole pipeline on a
local Ray inside a network namespace with only loopback (Ray binds every interface; there,
only 127.0.0.1 exists): the shards hold what preprocess() gives, a bad image is an error row,
and a rerun of what was left adds to the index."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from imagescaler.imaging.preprocess import preprocess
from imagescaler.shards.loader import ShardDataset
from imagescaler.shards.ray_data import PreprocessImages, written_keys
from tests.support.paths import ROOT, SHARED_IMAGES

PHOTOS = ["hotdog_1400x1316.jpg", "bird_1920x1080.jpg", "photo_550x368.webp", "rgba_400x300.png"]


def test_the_batch_class_makes_what_preprocess_makes_and_names_bad_images() -> None:
    paths = [str(SHARED_IMAGES / name) for name in PHOTOS] + ["/data/broken.jpg"]
    data = [(SHARED_IMAGES / name).read_bytes() for name in PHOTOS] + [b"not an image"]
    rows = PreprocessImages("yolo-640", root=str(SHARED_IMAGES), store="tensor")(
        {"bytes": np.array(data, dtype=object), "path": np.array(paths, dtype=object)}
    )
    assert rows["key"][:2] == ["hotdog_1400x1316_jpg", "bird_1920x1080_jpg"]
    assert rows["reason"][-1] == "unsupported_image" and rows["extension"][-1] == ""
    ours = np.load(__import__("io").BytesIO(rows["data"][0]))
    assert np.array_equal(ours, preprocess(data[0], "yolo-640").array)


def namespace_missing() -> str | None:
    if os.geteuid() != 0:
        return "a network namespace needs root"
    if not (shutil.which("unshare") and shutil.which("ip")):
        return "unshare and ip (util-linux, iproute2) are needed"
    return None


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_ray_data_pipeline_writes_shards_a_trainer_reads(tmp_path: Path) -> None:
    missing = namespace_missing()
    if missing:
        pytest.fail(missing) if os.environ.get("CI") else pytest.skip(missing)
    source = tmp_path / "photos"
    source.mkdir()
    for name in PHOTOS[:3]:
        shutil.copy(SHARED_IMAGES / name, source / name)
    (source / "broken.jpg").write_bytes(b"not an image")
    out = tmp_path / "shards"

    def pipeline(*extra: str) -> dict[str, list[str]]:
        script = (
            f"ip link set lo up && exec {sys.executable} -m tests.support.ray_pipeline "
            f"{source} {out} imagenet-224 {' '.join(extra)}"
        )
        done = subprocess.run(
            ["unshare", "-n", "sh", "-c", script], capture_output=True, text=True,
            timeout=500, check=False, cwd=ROOT,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))

    shown = pipeline()
    assert set(shown["listening"]) <= {"127.0.0.1", "[::ffff:127.0.0.1]", "[::1]", "*"}
    samples = {s.key: s.array for s in ShardDataset(str(out / "shard-*.tar"), "imagenet-224")}
    assert set(samples) == {"hotdog_1400x1316_jpg", "bird_1920x1080_jpg", "photo_550x368_webp"}
    expected = preprocess(source / "hotdog_1400x1316.jpg", "imagenet-224").array
    assert np.array_equal(samples["hotdog_1400x1316_jpg"], expected)
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert [(e["key"], e["reason"]) for e in errors] == [("broken_jpg", "unsupported_image")]
    assert written_keys(str(out)) == set(samples)
    shards = sorted(p.name for p in out.glob("shard-*.tar"))
    # A rerun of what was left (the broken file) writes no shard twice and keeps the index.
    pipeline("skip-written")
    assert sorted(p.name for p in out.glob("shard-*.tar")) == shards
    assert written_keys(str(out)) == set(samples)
