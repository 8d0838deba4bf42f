"""`imagescaler batch` from and to S3, against a real S3-compatible server (moto's server mode)
on 127.0.0.1, through a proxy that counts requests and injects S3's faults: listing, a run
bucket to bucket and back, resume without a GET, 503 SlowDown and dropped connections, a
missing object, and a run killed mid-upload (single PUT and multipart)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from imagescaler.shards.loader import ShardDataset
from tests.support.local_system import IMAGESCALER
from tests.support.paths import SHARED_IMAGES
from tests.support.s3_server import CREDENTIALS, S3Server, faulty_proxy, s3_server
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow
PHOTOS = ["hotdog_1400x1316.jpg", "bird_1920x1080.jpg", "photo_550x368.webp", "rgba_400x300.png"]


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with s3_server(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


@pytest.fixture
def bucket(s3: S3Server, request: pytest.FixtureRequest) -> str:
    """A bucket of the test's own with the photos under in/cls/ and a README beside them."""
    name = "t-" + str(abs(hash(request.node.name)))[:12]
    s3.bucket(name)
    fs = s3.fs()
    for photo in PHOTOS:
        fs.put_file(str(SHARED_IMAGES / photo), f"{name}/in/cls/{photo}")
    fs.pipe_file(f"{name}/in/README.md", b"not an image")
    return name


def batch(
    tmp_path: Path, endpoint: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    command = [*IMAGESCALER, "batch", *args, "--local", "--s3-endpoint", endpoint]
    environment = {**os.environ, **CREDENTIALS, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**environment, **(env or {})},
    )  # fmt: skip


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = process.communicate(timeout=300)
    return process.returncode, out + err


def shard_keys(s3: S3Server, out: str, profile: str = "imagenet-224") -> list[str]:
    """The keys of the samples in the shards, read back as a trainer reads them."""
    options = {
        "endpoint_url": s3.endpoint,
        "key": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "secret": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }
    dataset = ShardDataset(f"s3://{out}/shard-*.tar", profile, storage_options=options)
    return [sample.key for sample in dataset]


def test_a_bucket_to_a_bucket_and_back_then_a_rerun_reads_nothing(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    args = [f"s3://{bucket}/in/", "--out", f"s3://{bucket}/out/", "--profile", "imagenet-224",
            "--labels-from-folders", "--shard-size", "2"]  # fmt: skip
    status, output = finish(batch(tmp_path, s3.endpoint, *args))
    assert status == 0, output
    assert "written         4" in output and "1 .md" in output
    listed = {path.rsplit("/", 1)[-1] for path in s3.fs().find(f"{bucket}/out")}
    assert {"shard-000000.tar", "shard-000001.tar", "index.parquet", "errors.jsonl"} <= listed
    assert "classes.json" in listed and "00000001.jsonl" in listed
    assert sorted(shard_keys(s3, f"{bucket}/out")) == sorted(
        f"cls/{photo.replace('.', '_')}" for photo in PHOTOS
    )
    with faulty_proxy(s3.port) as proxy:
        status, output = finish(batch(tmp_path, proxy.endpoint, *args))
    assert status == 0, output
    assert "skipped         4" in output
    assert proxy.count("GET", "object") == 0, proxy.requests  # the ETags said: unchanged
    assert proxy.count("PUT", "shard") == 0


def test_slow_down_and_dropped_connections_are_retried(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    with faulty_proxy(s3.port) as proxy:
        proxy.faults.slow_down, proxy.faults.drop = 4, 2
        args = [f"s3://{bucket}/in/", "--out", f"s3://{bucket}/out/", "--profile", "yolo-640"]
        status, output = finish(batch(tmp_path, proxy.endpoint, *args))
        assert proxy.faults.slow_down == 0 and proxy.faults.drop == 0  # all were met
    assert status == 0, output
    assert "written         4" in output


def test_a_missing_object_is_an_error_row(s3: S3Server, bucket: str, tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.jsonl"
    rows = [{"url": f"s3://{bucket}/in/cls/{PHOTOS[0]}", "key": "there"},
            {"url": f"s3://{bucket}/in/cls/gone.jpg", "key": "gone"}]  # fmt: skip
    manifest.write_text("".join(json.dumps(row) + "\n" for row in rows))
    out = tmp_path / "out"
    args = [str(manifest), "--out", str(out), "--profile", "imagenet-224"]
    status, output = finish(batch(tmp_path, s3.endpoint, *args))
    assert status == 1, output
    (error,) = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert error["key"] == "gone" and error["reason"] == "unreadable"
    assert "gone.jpg" in error["message"] or "does not exist" in error["message"]


@pytest.mark.parametrize("upload", ["put", "multipart"])
def test_a_run_killed_mid_upload_leaves_no_shard_and_a_rerun_completes(
    s3: S3Server, bucket: str, tmp_path: Path, upload: str
) -> None:
    """A shard's upload never finishes and the run is killed (SIGKILL) meanwhile: the second
    shard's single PUT, or the second part of the first shard's multipart upload. Nothing
    appears under its key; the rerun aborts the leftover multipart upload, makes the shard,
    and every image is in exactly one shard."""
    out = f"{bucket}/out"
    args = [f"s3://{bucket}/in/", "--out", f"s3://{out}/", "--profile", "yolo-640"]
    env: dict[str, str] = {}
    if upload == "put":
        args += ["--shard-size", "2"]
        held, kept, done_before = "shard-000001.tar", {"shard-000000.tar"}, 2
    else:  # float32 640x640 tensors, 4.9 MB each: three are three 5 MiB parts (s3fs uploads
        # a file of two parts or more in parts)
        args += ["--shard-size", "3", "--store", "tensor"]
        env["IMAGESCALER_S3_PART_BYTES"] = str(5 * 1024 * 1024)
        held, kept, done_before = "shard-000000.tar", set(), 0

    def second_shard(method: str, path: str) -> bool:
        part_two = "partNumber=2" in path if upload == "multipart" else True
        return method == "PUT" and f"/{held}" in path and part_two

    with faulty_proxy(s3.port) as proxy:
        proxy.faults.hold = second_shard
        run = batch(tmp_path, proxy.endpoint, *args, env=env)
        try:
            wait_until(proxy.faults.held.is_set, 120, "the second shard's upload to start")
        finally:
            run.send_signal(signal.SIGKILL)
            run.communicate(timeout=30)
    fs = s3.fs()
    names = {path.rsplit("/", 1)[-1] for path in fs.find(out)}
    assert {name for name in names if name.startswith("shard-")} == kept, names
    unfinished = fs.call_s3("list_multipart_uploads", Bucket=bucket).get("Uploads", [])
    assert len(unfinished) == (1 if upload == "multipart" else 0)
    status, output = finish(batch(tmp_path, s3.endpoint, *args, env=env))
    assert status == 0, output
    assert f"skipped         {done_before}" in output
    assert f"written         {4 - done_before}" in output
    assert fs.call_s3("list_multipart_uploads", Bucket=bucket).get("Uploads", []) == []
    keys = shard_keys(s3, out, "yolo-640")
    assert sorted(keys) == sorted(f"cls/{photo.replace('.', '_')}" for photo in PHOTOS)
