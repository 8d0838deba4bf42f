"""`imagescaler batch` on real files and against a real API: shards that read back, counts
that add up, reruns that do nothing, resumes after SIGKILL, and one-line usage errors."""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import tarfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import webdataset
from PIL import Image

from imagescaler.grpc_runtime.server import RunningServer
from tests.support.images import encode, open_bytes, shared_image
from tests.support.local_system import IMAGESCALER
from tests.support.metrics import scrape, value
from tests.support.tls_front import TlsFront
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow
GOOD = ["hotdog_1400x1316.jpg", "bird_1920x1080.jpg", "rgba_400x300.png", "photo_550x368.webp"]
BAD = {
    "broken/truncated.jpg": "corrupt_image",
    "broken/page.jpg": "unsupported_image",
    "broken/huge.png": "image_too_large",
}


def batch(
    *args: str, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`imagescaler batch ARGS`; `env` is added to this process's environment."""
    return subprocess.run(
        [*IMAGESCALER, "batch", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **env} if env else None,
    )


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """Good photos, a truncated JPEG, an HTML page named .jpg, a file over the pixel limit."""
    folder = tmp_path / "mixed"
    (folder / "broken").mkdir(parents=True)
    for name in GOOD:
        (folder / name).write_bytes(shared_image(name))
    (folder / "broken" / "truncated.jpg").write_bytes(shared_image("truncated_1680x1050.jpg"))
    (folder / "broken" / "page.jpg").write_text("<!doctype html><title>not an image</title>")
    (folder / "broken" / "huge.png").write_bytes(encode(Image.new("L", (8000, 7000)), "PNG"))
    return folder


def key(name: str) -> str:
    """The key of a file in the folder: its relative path, dots made underscores."""
    return name.replace(".", "_")


def shard_samples(out: Path) -> dict[str, bytes]:
    """Every member of every shard, read with plain tarfile; a key twice fails."""
    members: dict[str, bytes] = {}
    for shard in sorted(out.glob("shard-*.tar")):
        with tarfile.open(shard) as tar:
            for member in tar.getmembers():
                assert member.name not in members, f"{member.name} written twice"
                data = tar.extractfile(member)
                assert data is not None
                members[member.name] = data.read()
    return members


def read_with_webdataset(out: Path) -> list[dict[str, object]]:
    """The shards as the webdataset package reads them. It leaves the shard files for the
    garbage collector to close, so collect here, inside the test that allows it."""
    urls = [str(p) for p in sorted(out.glob("shard-*.tar"))]
    samples = list(webdataset.WebDataset(urls, shardshuffle=False))
    gc.collect()
    return samples


# webdataset's readers, not ours, leave their files to the garbage collector.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_mixed_folder_gives_shards_an_index_and_exactly_the_bad_ones_as_errors(
    mixed: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = batch(
        str(mixed), "--profile", "yolo-640", "--out", str(out), "--local", "--shard-size", "3"
    )
    assert result.returncode == 1, result.stdout + result.stderr  # some failed
    assert "written         4" in result.stdout and "failed          3" in result.stdout
    assert result.stderr == ""  # no progress bar when not on a terminal
    assert not list(out.glob("*.tmp"))
    samples = shard_samples(out)
    keys = {name.rsplit(".", 1)[0] for name in samples}
    assert keys == {key(name) for name in GOOD}
    dataset = webdataset.WebDataset(
        [str(p) for p in sorted(out.glob("shard-*.tar"))], shardshuffle=False
    )
    read_back = list(dataset)
    assert len(read_back) == 4 and all({"npy", "json"} <= set(s) for s in read_back)
    meta = json.loads(read_back[0]["json"])  # type: ignore[arg-type]
    assert meta["profile"].startswith("yolo-640@1#") and meta["geometry"]["output_size"] == [
        640,
        640,
    ]
    assert meta["source"].startswith(str(mixed))
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert {e["key"]: e["reason"] for e in errors} == {key(k): r for k, r in BAD.items()}
    index = pq.read_table(out / "index.parquet").to_pylist()
    assert len(index) == 7 and Counter(row["status"] for row in index) == {"ok": 4, "failed": 3}
    assert {row["shard"] for row in index if row["status"] == "ok"} == {
        "shard-000000.tar", "shard-000001.tar"
    }  # fmt: skip


def test_a_rerun_does_no_work(mixed: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = (str(mixed), "--profile", "clip-224", "--out", str(out), "--local")
    assert batch(*args).returncode == 1
    shards = {p: p.stat().st_mtime_ns for p in out.glob("shard-*.tar")}
    again = batch(*args)
    assert again.returncode == 1
    assert "written         0" in again.stdout and "skipped         4" in again.stdout
    assert "failed          3  3 as before" in again.stdout
    assert {p: p.stat().st_mtime_ns for p in out.glob("shard-*.tar")} == shards
    # A changed profile is new work: the reference differs.
    other = batch(str(mixed), "--profile", "imagenet-224", "--out", str(out), "--local")
    assert "written         4" in other.stdout


def test_resume_after_sigkill_has_no_duplicate_and_no_loss(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    photo = open_bytes(shared_image("bird_1920x1080.jpg"))
    for number in range(40):
        crop = photo.crop((number * 10, number * 5, 1200 + number * 10, 900 + number * 5))
        (folder / f"{number:03d}.jpg").write_bytes(encode(crop, "JPEG", quality=85))
    out = tmp_path / "out"
    args = [
        str(folder),
        "--profile",
        "imagenet-224",
        "--out",
        str(out),
        "--local",
        "--shard-size",
        "4",
    ]
    with subprocess.Popen([*IMAGESCALER, "batch", *args], stdout=subprocess.DEVNULL) as first:
        wait_until(lambda: len(list(out.glob("shard-*.tar"))) >= 2, 120, "two shards written")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    done_before = len(list(out.glob("shard-*.tar")))
    assert done_before < 10, "the run finished before it could be killed"
    resumed = batch(*args)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"skipped        {4 * done_before:>2}" in resumed.stdout
    samples = shard_samples(out)  # fails on any key written twice
    assert {name.rsplit(".", 1)[0] for name in samples} == {f"{n:03d}_jpg" for n in range(40)}
    assert not list(out.glob("*.tmp"))
    assert len(pq.read_table(out / "index.parquet")) == 40


def test_server_and_local_give_the_same_samples_byte_for_byte(
    mixed: Path, tmp_path: Path, api: RunningServer
) -> None:
    local, remote = tmp_path / "local", tmp_path / "remote"
    for out, where in ((local, ["--local"]), (remote, ["--server", f"127.0.0.1:{api.port}"])):
        result = batch(str(mixed), "--profile", "default", "--out", str(out), *where)
        assert result.returncode == 1, result.stdout + result.stderr
    assert shard_samples(local) == shard_samples(remote)
    assert len(shard_samples(local)) == 8  # four images and four JSONs
    assert open_bytes(shard_samples(local)["hotdog_1400x1316_jpg.jpg"]).size == (1024, 768)


def test_a_manifest_gives_keys_and_labels(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(shared_image("hotdog_1400x1316.jpg"))
    manifest = tmp_path / "train.jsonl"
    manifest.write_text(json.dumps({"path": "a.jpg", "key": "sample-1", "label": "hotdog"}) + "\n")
    out = tmp_path / "out"
    result = batch(str(manifest), "--profile", "yolo-640", "--out", str(out), "--local")
    assert result.returncode == 0, result.stdout + result.stderr
    samples = shard_samples(out)
    assert json.loads(samples["sample-1.json"])["label"] == "hotdog"
    assert pq.read_table(out / "index.parquet").to_pylist()[0]["label"] == "hotdog"
    csv_manifest = tmp_path / "train.csv"
    csv_manifest.write_text("path,label\na.jpg,dog\n")
    assert (
        batch(
            str(csv_manifest), "--profile", "yolo-640", "--out", str(tmp_path / "o2"), "--local"
        ).returncode
        == 0
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["/nonexistent/photos", "--profile", "yolo-640", "--local"], "does not exist"),
        (["{folder}", "--profile", "resnet-9000", "--local"], "no profile 'resnet-9000'"),
        (["{folder}", "--profile", "yolo-640", "--local", "--out-under-a-file"], "cannot write to"),
        (
            ["{folder}", "--profile", "yolo-640", "--server", "127.0.0.1:9"],
            "cannot list the profiles",
        ),
        (
            ["{folder}", "--profile", "x", "--server", "127.0.0.1:9", "--profiles-file", "p.toml"],
            "--profiles-file is for --local",
        ),
        (["{folder}", "--profile", "yolo-640", "--local", "--tls"], "are for --server"),
        (["{folder}", "--profile", "yolo-640", "--local", "--token-file", "t"], "are for --server"),
        (
            ["{folder}", "--profile", "x", "--server", "127.0.0.1:9", "--token-file", "nope"],
            "cannot read the token file nope",
        ),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(tmp_path: Path, args: list[str], says: str) -> None:
    (tmp_path / "a.jpg").write_bytes(shared_image("hotdog_1400x1316.jpg"))
    (tmp_path / "file").write_text("x")
    out = str(tmp_path / "file" / "out") if "--out-under-a-file" in args else str(tmp_path / "out")
    args = [a.replace("{folder}", str(tmp_path)) for a in args if a != "--out-under-a-file"]
    result = batch(*args, "--out", out)
    assert result.returncode == 2, result.stdout + result.stderr
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_server_runs_slow_down_and_retry_when_the_service_is_full(
    mixed: Path,
    tmp_path: Path,
    start_image_service: Callable[..., RunningServer],
    start_api: Callable[..., RunningServer],
) -> None:
    image = start_image_service(workers=1, queue_depth=0)  # room for one image at a time
    api = start_api(image_service=f"127.0.0.1:{image.port}")
    for name in GOOD:
        for copy in range(3):
            (mixed / f"{copy}-{name}").write_bytes(shared_image(name))
    out = tmp_path / "out"
    where = ["--server", f"127.0.0.1:{api.port}", "--concurrency", "2"]
    result = batch(str(mixed), "--profile", "yolo-640", "--out", str(out), *where)
    assert result.returncode == 1, result.stdout + result.stderr  # only the three bad ones
    assert "written        16" in result.stdout and "failed          3" in result.stdout
    errors = (out / "errors.jsonl").read_text()
    assert "overloaded" not in errors


def test_files_that_differ_only_by_extension_are_two_samples(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "night.jpg").write_bytes(shared_image("hotdog_1400x1316.jpg"))
    (folder / "night.webp").write_bytes(shared_image("photo_550x368.webp"))
    (folder / "notes.txt").write_text("labels elsewhere")
    out = tmp_path / "out"
    args = (str(folder), "--profile", "yolo-640", "--out", str(out), "--local")
    first = batch(*args)
    assert first.returncode == 0, first.stdout + first.stderr
    assert (
        "written         2" in first.stdout
        and "left out        1  not images: 1 .txt" in first.stdout
    )
    assert set(shard_samples(out)) == {
        "night_jpg.npy",
        "night_jpg.json",
        "night_webp.npy",
        "night_webp.json",
    }
    again = batch(*args)
    assert "written         0" in again.stdout and "skipped         2" in again.stdout
    assert len(list(out.glob("shard-*.tar"))) == 1


def test_paths_that_would_make_the_same_key_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.b.jpg").write_bytes(shared_image("hotdog_1400x1316.jpg"))
    (tmp_path / "a_b.jpg").write_bytes(shared_image("hotdog_1400x1316.jpg"))
    result = batch(
        str(tmp_path), "--profile", "yolo-640", "--out", str(tmp_path / "out"), "--local"
    )
    assert result.returncode == 2 and "both make the key 'a_b_jpg'" in result.stderr


def test_a_server_that_asks_for_a_token_gets_the_one_in_token_file(
    start_api: Callable[..., RunningServer], tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives import serialization

    from imagescaler.runtime.bearer_tokens import (
        TokenIssuer,
        new_dev_signing_pem,
        signing_key_from_pem,
    )

    pem = new_dev_signing_pem()
    public = serialization.load_pem_private_key(pem, password=None).public_key()
    (tmp_path / "public.pem").write_bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    api = start_api(jwt_public_keys_file=tmp_path / "public.pem")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jpg").write_bytes(shared_image("hotdog_1400x1316.jpg"))
    where = ["--profile", "yolo-640", "--server", f"127.0.0.1:{api.port}"]
    refused = batch(str(tmp_path / "in"), "--out", str(tmp_path / "o1"), *where)
    assert refused.returncode == 2
    assert "refused the call: a bearer token is required" in refused.stderr
    assert "--token-file" in refused.stderr
    issued = TokenIssuer(signing_key_from_pem(pem), "imagescaler", "imagescaler", 600)
    (tmp_path / "token").write_text(issued.issue("bulk-job").access_token + "\n")
    token = ["--token-file", str(tmp_path / "token")]
    result = batch(str(tmp_path / "in"), "--out", str(tmp_path / "o2"), *where, *token)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "a_jpg.npy" in shard_samples(tmp_path / "o2")
    # From outside, through a TLS front (as the grpc-ingress component's Ingress is).
    front = TlsFront(api.port, tmp_path)
    try:
        env = {  # the token's file named by the environment this time
            "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH": str(front.certificate),
            "IMAGESCALER_TOKEN_FILE": str(tmp_path / "token"),
        }
        tls = ["--profile", "yolo-640", "--server", f"127.0.0.1:{front.port}", "--tls"]
        result = batch(str(tmp_path / "in"), "--out", str(tmp_path / "o3"), *tls, env=env)
    finally:
        front.close()
    assert result.returncode == 0, result.stdout + result.stderr
    assert shard_samples(tmp_path / "o3") == shard_samples(tmp_path / "o2")


def test_a_server_run_outlives_the_apis_connection_age(
    start_api: Callable[..., RunningServer], tmp_path: Path
) -> None:
    """The API ends every connection after its age and grace (60 s + 60 s in the manifests),
    streams included: a longer run opens its streams again, its unanswered items sent again,
    and loses nothing."""
    api = start_api(max_connection_age=0.5, max_connection_age_grace=0.5)
    photo = shared_image("hotdog_1400x1316.jpg")
    (tmp_path / "in").mkdir()
    for number in range(200):
        (tmp_path / "in" / f"{number:03}.jpg").write_bytes(photo)
    where = ["--server", f"127.0.0.1:{api.port}", "--concurrency", "2"]
    result = batch(
        str(tmp_path / "in"), "--profile", "yolo-640", "--out", str(tmp_path / "o"), *where
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(shard_samples(tmp_path / "o")) == 2 * 200  # a tensor and its JSON each
    samples = scrape(f"http://127.0.0.1:{api.metrics_port}/metrics")
    opened = value(samples, "grpc_server_started_total", grpc_method="PreprocessStream")
    assert opened > 2, "the run ended before any stream was ended: make it longer"
