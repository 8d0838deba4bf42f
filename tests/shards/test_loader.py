"""Shards written by real batch runs, read back for training: with our loader (numpy alone, and
in a torch DataLoader), with webdataset, and with Hugging Face datasets. Every array must equal
preprocess() of the same bytes and profile, bit for bit, whether stored as levels or tensors."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import webdataset

from imagescaler.grpc_runtime.server import RunningServer
from imagescaler.imaging.builtin_profiles import BUILTIN_PROFILES
from imagescaler.imaging.preprocess import preprocess
from imagescaler.shards import ProfileMismatch, ShardDataset, collate, decode_sample
from imagescaler.shards.items import levels_hold
from tests.support.images import shared_image
from tests.support.local_system import IMAGESCALER

pytestmark = pytest.mark.slow
PHOTOS = {
    "birds/bird.jpg": "bird_1920x1080.jpg",
    "birds/phone.jpg": "phone_4032x3024_exif6.jpg",  # EXIF orientation 6
    "food/hotdog.jpg": "hotdog_1400x1316.jpg",
    "food/rgba.png": "rgba_400x300.png",
    "food/small.webp": "photo_550x368.webp",
}
TENSOR_PROFILES = sorted(name for name, p in BUILTIN_PROFILES.items() if p.is_tensor)


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("classes")
    for name, shared in PHOTOS.items():
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_bytes(shared_image(shared))
    return folder


def run_batch(photos: Path, out: Path, profile: str, *where: str) -> Path:
    args = [str(photos), "--profile", profile, "--out", str(out), "--labels-from-folders"]
    result = subprocess.run(
        [*IMAGESCALER, "batch", *args, "--shard-size", "2", *where],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="module")
def made(photos: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Shards of a profile and storage, made once per module."""
    cache: dict[tuple[str, ...], Path] = {}

    def make(profile: str, *where: str) -> Path:
        if (profile, *where) not in cache:
            out = tmp_path_factory.mktemp(f"{profile}-shards")
            cache[(profile, *where)] = run_batch(photos, out, profile, *where)
        return cache[(profile, *where)]

    return make


def reference(photos: Path, key: str, profile: str) -> np.ndarray:
    """preprocess() of the file behind a key (folder/name_ext)."""
    folder, name = key.split("/")
    stem, extension = name.rsplit("_", 1)
    result = preprocess(
        (photos / folder / f"{stem}.{extension}").read_bytes(), BUILTIN_PROFILES[profile]
    )
    assert result.array is not None
    return result.array


def assert_bit_for_bit(array: np.ndarray, expected: np.ndarray, key: str) -> None:
    assert array.dtype == expected.dtype and array.shape == expected.shape, key
    assert array.tobytes() == expected.tobytes(), f"{key}: not bit for bit"


# Levels cannot hold a tensor padded with a normalised value (SAM's): batch stores those whole.
STORES = [
    (profile, store)
    for profile in TENSOR_PROFILES
    for store in ("levels", "tensor")
    if store == "tensor" or levels_hold(BUILTIN_PROFILES[profile])
]


@pytest.mark.parametrize(("profile", "store"), STORES)
def test_loaded_arrays_are_what_preprocess_returns(
    photos: Path, made: Callable[..., Path], profile: str, store: str
) -> None:
    out = made(profile, "--local", "--store", store)
    samples = list(ShardDataset(str(out / "shard-*.tar"), profile))
    assert len(samples) == len(PHOTOS)
    classes = json.loads((out / "classes.json").read_text())
    assert classes == {"birds": 0, "food": 1}
    for sample in samples:
        assert_bit_for_bit(sample.array, reference(photos, sample.key, profile), sample.key)
        assert sample.label == sample.key.split("/")[0]
        assert sample.label_index == classes[sample.label]
        assert list(sample.geometry.output_size) == list(sample.array.shape[:0:-1])
    stored = {
        json.loads(line)["tensor"]["stored"]
        for line in (out / "progress.jsonl").read_text().splitlines()
    }
    assert stored == {store}


def test_levels_take_a_quarter_of_the_bytes(made: Callable[..., Path]) -> None:
    levels = sum(p.stat().st_size for p in made("yolo-640", "--local").glob("shard-*.tar"))
    tensors = sum(
        p.stat().st_size
        for p in made("yolo-640", "--local", "--store", "tensor").glob("shard-*.tar")
    )
    assert levels * 3.9 < tensors < levels * 4.1


@pytest.mark.parametrize("profile", ["clip-224", "yolo-640"])
def test_server_runs_store_levels_recovered_exactly(
    photos: Path, made: Callable[..., Path], api: RunningServer, profile: str
) -> None:
    """The API sends finished tensors; batch stores their levels only where normalising them
    gives back exactly the server's tensor."""
    out = made(profile, "--server", f"127.0.0.1:{api.port}")
    entries = [json.loads(line) for line in (out / "progress.jsonl").read_text().splitlines()]
    assert {e["tensor"]["stored"] for e in entries} == {"levels"}
    for sample in ShardDataset(sorted(out.glob("shard-*.tar")), profile):
        assert_bit_for_bit(sample.array, reference(photos, sample.key, profile), sample.key)


def test_a_sample_of_another_profile_is_a_clear_error(made: Callable[..., Path]) -> None:
    out = made("imagenet-224", "--local")
    with pytest.raises(ProfileMismatch, match=r"was made by imagenet-224@1#\w+, not by clip-224"):
        next(iter(ShardDataset(str(out / "shard-*.tar"), "clip-224")))
    with pytest.raises(ValueError, match="no built-in profile 'resnet'"):
        ShardDataset(str(out / "shard-*.tar"), "resnet")
    with pytest.raises(FileNotFoundError, match="no shard at"):
        ShardDataset(str(out / "nothing-*.tar"), "imagenet-224")


# webdataset's readers, not ours, leave their files to the garbage collector.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_webdataset_pipelines_decode_with_the_same_function(
    photos: Path, made: Callable[..., Path]
) -> None:
    out = made("clip-224", "--local")
    urls = [str(p) for p in sorted(out.glob("shard-*.tar"))]
    pipeline = webdataset.WebDataset(urls, shardshuffle=False).map(decode_sample("clip-224"))
    samples = list(pipeline)
    gc.collect()
    assert len(samples) == len(PHOTOS)
    for sample in samples:
        assert_bit_for_bit(sample.array, reference(photos, sample.key, "clip-224"), sample.key)


def test_hugging_face_datasets_reads_the_shards(
    photos: Path, made: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the README shows it: datasets' webdataset loader, then decode_sample on each row."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from datasets import load_dataset

    out = made("yolo-640", "--local")
    files = sorted(str(p) for p in out.glob("shard-*.tar"))
    dataset = load_dataset("webdataset", data_files={"train": files}, split="train")
    decode = decode_sample("yolo-640")
    rows = [decode(row) for row in dataset]
    assert len(rows) == len(PHOTOS)
    for sample in rows:
        assert_bit_for_bit(sample.array, reference(photos, sample.key, "yolo-640"), sample.key)


def test_a_torch_dataloader_with_two_workers_reads_every_sample_once(
    made: Callable[..., Path],
) -> None:
    import torch
    from torch.utils.data import DataLoader

    out = made("imagenet-224", "--local")
    dataset = ShardDataset(str(out / "shard-*.tar"), "imagenet-224")
    loader = DataLoader(dataset, batch_size=2, num_workers=2, collate_fn=collate)
    batches = list(loader)
    keys = [key for batch in batches for key in batch["key"]]
    assert sorted(keys) == sorted(s.key for s in ShardDataset(dataset.shards, "imagenet-224"))
    assert len(keys) == len(set(keys)) == len(PHOTOS)
    first = batches[0]
    assert isinstance(first["array"], torch.Tensor) and first["array"].dtype == torch.float32
    assert first["array"].shape[1:] == (3, 224, 224)
    assert isinstance(first["label_index"], torch.Tensor)


def test_the_loader_needs_numpy_alone(made: Callable[..., Path]) -> None:
    out = made("yolo-640", "--local")
    script = f"""
import sys
sys.modules["torch"] = None  # as if torch were not installed
from imagescaler.shards import ShardDataset, collate
dataset = ShardDataset({str(out / "shard-*.tar")!r}, "yolo-640")
batch = collate(list(dataset))
assert type(batch["array"]).__name__ == "ndarray", type(batch["array"])
print(batch["array"].shape, ShardDataset.__mro__[1].__name__)
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"({len(PHOTOS)}, 3, 640, 640) object"


def test_levels_are_refused_for_a_profile_they_cannot_hold(photos: Path, tmp_path: Path) -> None:
    """sam-1024 pads with 0 after normalising: levels are not asked for by default, and
    refused when asked for."""
    out = run_batch(photos, tmp_path / "sam", "sam-1024", "--local")
    assert '"stored": "tensor"' in next(out.glob("shard-*.tar")).read_bytes().decode("latin-1")
    refused = subprocess.run(
        [*IMAGESCALER, "batch", str(photos), "--profile", "sam-1024", "--out",
         str(tmp_path / "refused"), "--local", "--store", "levels"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert refused.returncode == 2 and "use --store tensor" in refused.stderr
