"""Bulk runs that cannot lose data or write outside their folder: a full disk, journals cut by
a crash or from another version, a shard renamed but not journalled, keys and paths that would
escape, manifest URLs under the URL policy, and shards sized in bytes."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.images import encode, open_bytes, shared_image
from tests.support.local_system import IMAGESCALER
from tests.support.servers import LocalHttpServer, Route
from tests.support.shards import assert_consistent

pytestmark = pytest.mark.slow


def batch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*IMAGESCALER, "batch", *args], capture_output=True, text=True, timeout=300, check=False
    )


def one_line(result: subprocess.CompletedProcess[str], status: int, says: str) -> None:
    assert result.returncode == status, result.stdout + result.stderr
    assert says in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """Eight 640x480 JPEGs."""
    folder = tmp_path / "photos"
    folder.mkdir()
    photo = open_bytes(shared_image("bird_1920x1080.jpg"))
    for number in range(8):
        crop = photo.crop((number * 100, 0, number * 100 + 640, 480))
        (folder / f"{number}.jpg").write_bytes(encode(crop, "JPEG", quality=85))
    return folder


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 12 MB tmpfs: room for two float32 640x640 samples, not three."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


@pytest.mark.system
def test_a_full_disk_is_one_line_and_nothing_unwritten_is_recorded(
    photos: Path, small_disk: Path
) -> None:
    out = small_disk / "out"
    args = [str(photos), "--profile", "yolo-640", "--out", str(out), "--local"]
    full = batch(*args, "--store", "tensor", "--shard-size", "1")
    one_line(full, 1, "No space left on device")
    assert "rerun resumes" in full.stderr
    written = assert_consistent(out)
    assert 1 <= len(written) < 8
    assert not list(out.glob("shard-*.tar.tmp"))
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    resumed = batch(*args, "--store", "tensor", "--shard-size", "1")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"skipped         {len(written)}" in resumed.stdout
    assert set(assert_consistent(out)) == {f"{n}_jpg" for n in range(8)}


def test_a_journal_line_cut_by_a_crash_is_dropped(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = [str(photos), "--profile", "imagenet-224", "--out", str(out), "--local"]
    assert batch(*args).returncode == 0
    journal = out / "progress.jsonl"
    whole = journal.read_text()
    journal.write_text(whole + '{"key": "7_jpg", "sour')
    again = batch(*args)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "skipped         8" in again.stdout
    assert journal.read_text() == whole


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ('{"key": "a", "colour": "blue"}', "line 9 has fields this version does not know: colour"),
        ("not json", "line 9 is not JSON"),
        ('{"key": "a"}', "line 9 lacks a key, source, sha256, profile or status"),
    ],
)
def test_a_journal_this_version_cannot_read_is_one_line(
    photos: Path, tmp_path: Path, line: str, says: str
) -> None:
    out = tmp_path / "out"
    args = [str(photos), "--profile", "imagenet-224", "--out", str(out), "--local"]
    assert batch(*args).returncode == 0
    with (out / "progress.jsonl").open("a") as journal:
        journal.write(line + "\n")
    one_line(batch(*args), 2, says)


def test_a_shard_renamed_but_not_journalled_is_journalled_from_itself(
    photos: Path, tmp_path: Path
) -> None:
    """A crash between a shard's rename and its journal lines: the next run reads the shard's
    own sample records and neither loses nor repeats its samples."""
    out = tmp_path / "out"
    args = [str(photos), "--profile", "yolo-640", "--out", str(out), "--local", "--shard-size", "3"]
    assert batch(*args).returncode == 0
    journal = out / "progress.jsonl"
    lines = journal.read_text().splitlines(keepends=True)
    last = [line for line in lines if '"shard-000002.tar"' in line]
    assert len(last) == 2
    journal.write_text("".join(lines[:-1]))  # one of the last shard's two lines lost
    again = batch(*args)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "written         0" in again.stdout and "skipped         8" in again.stdout
    assert len(assert_consistent(out)) == 8
    assert sorted(journal.read_text().splitlines(keepends=True)) == sorted(lines)


@pytest.mark.parametrize(
    ("row", "says"),
    [
        ({"path": "a.jpg", "key": "../../escaped"}, "would leave the archive"),
        ({"path": "a.jpg", "key": "/abs/x"}, "must be a relative path"),
        ({"path": "a.jpg", "key": "a\u0000b"}, "control character"),
        ({"path": "a.jpg", "key": "a/b.v2"}, "WebDataset would read the rest as the extension"),
        ({"path": "../outside.jpg"}, "is outside"),
        ({"path": "/etc/passwd"}, "is outside"),
        ({"url": "file:///etc/passwd"}, "a url is http(s):// or s3://"),
    ],
)
def test_keys_and_paths_that_escape_are_refused(
    tmp_path: Path, row: dict[str, str], says: str
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(shared_image("hotdog_1400x1316.jpg"))
    (tmp_path / "outside.jpg").write_bytes(shared_image("hotdog_1400x1316.jpg"))
    manifest = folder / "train.jsonl"
    manifest.write_text(json.dumps(row) + "\n")
    result = batch(str(manifest), "--profile", "yolo-640", "--out", str(tmp_path / "o"), "--local")
    one_line(result, 2, says)
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").glob("shard-*"))


def test_manifest_keys_are_relative_to_the_manifest_or_the_root(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    (folder / "cars").mkdir(parents=True)
    (folder / "cars" / "0082.jpg").write_bytes(shared_image("hotdog_1400x1316.jpg"))
    (tmp_path / "extra.jpg").write_bytes(shared_image("photo_550x368.webp"))
    manifest = folder / "train.csv"
    manifest.write_text(f"path,label\n{folder / 'cars' / '0082.jpg'},car\n../extra.jpg,x\n")
    out = tmp_path / "out"
    args = [str(manifest), "--profile", "yolo-640", "--out", str(out), "--local"]
    one_line(batch(*args), 2, "is outside")
    result = batch(*args, "--root", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(assert_consistent(out)) == {"data/cars/0082_jpg", "extra_jpg"}
    assert json.loads((out / "classes.json").read_text()) == {"car": 0, "x": 1}


def test_manifest_urls_keep_the_url_policy(tmp_path: Path, http_server: LocalHttpServer) -> None:
    http_server.routes["/hotdog.jpg"] = Route(200, shared_image("hotdog_1400x1316.jpg"))
    manifest = tmp_path / "urls.jsonl"
    manifest.write_text(json.dumps({"url": http_server.url("/hotdog.jpg"), "key": "hotdog"}))
    out = tmp_path / "out"
    args = [str(manifest), "--profile", "yolo-640", "--out", str(out), "--local"]
    refused = batch(*args)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    (error,) = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert error["reason"] == "source_refused" and "127.0.0.1" in error["message"]
    assert http_server.requests == []  # refused before connecting
    allowed = batch(*args, "--allow-private-urls")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert set(assert_consistent(out)) == {"hotdog"}


def test_labels_from_folders_needs_class_folders(tmp_path: Path) -> None:
    (tmp_path / "cats").mkdir()
    (tmp_path / "cats" / "a.jpg").write_bytes(shared_image("hotdog_1400x1316.jpg"))
    (tmp_path / "b.jpg").write_bytes(shared_image("hotdog_1400x1316.jpg"))
    args = [str(tmp_path), "--profile", "yolo-640", "--out", str(tmp_path / "o"), "--local"]
    one_line(batch(*args, "--labels-from-folders"), 2, "b.jpg is not inside a class folder")


def test_shards_close_at_their_byte_limit(photos: Path, tmp_path: Path) -> None:
    """yolo-640 levels are 1.2 MB a sample: at 3 MB, two samples a shard."""
    out = tmp_path / "out"
    args = [str(photos), "--profile", "yolo-640", "--out", str(out), "--local"]
    result = batch(*args, "--shard-bytes", "3MB")
    assert result.returncode == 0, result.stdout + result.stderr
    shards = sorted(out.glob("shard-*.tar"))
    assert len(shards) == 4 and all(p.stat().st_size <= 3_000_000 for p in shards)
    one_line(batch(*args, "--shard-bytes", "lots"), 2, "--shard-bytes takes a size")


def test_a_second_run_on_the_same_folder_is_refused(photos: Path, tmp_path: Path) -> None:
    import fcntl

    out = tmp_path / "out"
    out.mkdir()
    with (out / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a run in progress holds it
        busy = batch(str(photos), "--profile", "yolo-640", "--out", str(out), "--local")
    one_line(busy, 2, f"another imagescaler batch is writing to {out}")
    assert not list(out.glob("shard-*"))


def test_a_source_gone_after_it_was_written_keeps_its_sample(photos: Path, tmp_path: Path) -> None:
    manifest = photos / "train.jsonl"
    manifest.write_text("".join(json.dumps({"path": f"{n}.jpg"}) + "\n" for n in range(8)))
    out = tmp_path / "out"
    args = [str(manifest), "--profile", "yolo-640", "--out", str(out), "--local"]
    assert batch(*args).returncode == 0
    (photos / "3.jpg").unlink()
    again = batch(*args)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "skipped         8" in again.stdout
    assert (out / "errors.jsonl").read_text() == ""
    assert set(assert_consistent(out)) == {f"{n}_jpg" for n in range(8)}
