"""Training from shards: `ShardDataset` yields each sample's array (normalised as its profile
says), geometry, label and key; `decode_sample` does the same inside a webdataset pipeline.

It needs numpy alone. Where torch is installed, `ShardDataset` is a torch IterableDataset: a
DataLoader's workers then read disjoint shards, and `collate` stacks a batch into tensors."""

from __future__ import annotations

import glob
import io
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from PIL import Image

from imagescaler.imaging.mapping import Geometry
from imagescaler.imaging.profiles import Profile
from imagescaler.imaging.profiles_file import profile_catalogue
from imagescaler.imaging.tensors import normalise
from imagescaler.shards.layout import CLASSES, LEVELS, SampleRecord, spec_output
from imagescaler.shards.reader import raw_samples

if TYPE_CHECKING:
    _Base = object
else:
    try:  # a torch IterableDataset where torch is installed, so that DataLoader accepts it
        from torch.utils.data import IterableDataset as _Base
    except ImportError:
        _Base = object


class ProfileMismatch(ValueError):
    """A sample was made by another profile than the one the caller trains with."""


class TrainingSample(NamedTuple):
    array: np.ndarray  # the tensor as preprocess() returns it, or an image's HWC levels
    geometry: Geometry  # output <-> source coordinates (geometry.box_to_source, ...)
    label: str | None
    label_index: int | None  # the label's index in the class map, when there is one
    key: str


def expected_reference(profile: Profile | str) -> str:
    """A Profile's reference; a reference (name@version#hash) as given; or a built-in
    profile's reference by its name."""
    if isinstance(profile, Profile):
        return profile.reference
    if not isinstance(profile, str):
        raise TypeError(
            "profile must be a Profile, a reference (name@version#hash) or a built-in name, "
            f"not {type(profile).__name__}"
        )
    if "@" in profile:
        return profile
    known = profile_catalogue()
    if profile not in known:
        raise ValueError(
            f"there is no built-in profile {profile!r} ({', '.join(sorted(known))}); "
            "pass the Profile, or the reference the shards were made with"
        )
    return known[profile].reference


class SampleDecoder:
    """A raw sample ({"__key__", "npy" or "jpg"/"png"/"webp", "json"}) to a TrainingSample,
    after checking it was made by the expected profile."""

    def __init__(self, profile: Profile | str, classes: dict[str, int] | None = None) -> None:
        self.reference = expected_reference(profile)
        self.classes = classes

    def __call__(self, raw: Mapping[str, Any]) -> TrainingSample:
        """`raw` as webdataset or our reader give it (bytes), or as a row of Hugging Face
        `datasets` (the JSON as a dict, the .npy as an array or nested lists)."""
        key = str(raw.get("__key__", ""))
        described = raw.get("json")
        if isinstance(described, dict):
            record = SampleRecord.from_fields(described)
        elif isinstance(described, bytes):
            record = SampleRecord.from_json(described)
        else:
            raise ValueError(f"sample {key!r} has no .json: not a shard of imagescaler batch")
        if record.profile != self.reference:
            raise ProfileMismatch(
                f"sample {key!r} was made by {record.profile}, not by {self.reference}: "
                "train with the profile the shards were made with, or make them again"
            )
        index = None
        if self.classes is not None and record.label is not None:
            if record.label not in self.classes:
                raise ValueError(f"sample {key!r} has the label {record.label!r}, not in classes")
            index = self.classes[record.label]
        geometry = Geometry.from_dict(record.geometry)
        return TrainingSample(sample_array(raw, record), geometry, record.label, index, key)


def decode_sample(
    profile: Profile | str, classes: dict[str, int] | None = None
) -> Callable[[Mapping[str, Any]], TrainingSample]:
    """For webdataset, `wds.WebDataset(urls).map(decode_sample("yolo-640"))`; for a row of
    Hugging Face `datasets`' webdataset loader, `decode_sample("yolo-640")(row)`."""
    return SampleDecoder(profile, classes)


def sample_array(raw: Mapping[str, Any], record: SampleRecord) -> np.ndarray:
    """The tensor preprocess() returns for this sample (levels normalised here), or the
    image's levels (HWC, or HW for gray) for image profiles."""
    if (npy := raw.get("npy")) is not None and record.tensor is not None:
        output = spec_output(record.tensor)
        levels = record.tensor.get("stored") == LEVELS
        if isinstance(npy, bytes):
            array: np.ndarray = np.load(io.BytesIO(npy), allow_pickle=False)
        else:  # decoded by someone else: back to the dtype it was stored in
            array = np.asarray(npy, dtype=np.uint8 if levels else output.dtype)
        return normalise(array, output) if levels else array
    for extension in ("jpg", "png", "webp"):
        encoded = raw.get(extension)
        if isinstance(encoded, Image.Image):  # decoded by Hugging Face datasets
            return np.asarray(encoded)
        if isinstance(encoded, bytes):
            with Image.open(io.BytesIO(encoded)) as image:
                return np.asarray(image)
    raise ValueError(f"sample {raw.get('__key__')!r} has no .npy, .jpg, .png or .webp")


class ShardDataset(_Base):
    """The samples of `shards` (a path, a glob, or a list of them; or s3://... and other
    fsspec URLs, globs included, read as streams), in order.

    `profile` is what the model expects: every sample's profile reference must match it.
    `classes` maps labels to indices; by default the classes.json beside the shards.
    `storage_options` go to fsspec for URLs (for S3: endpoint_url, key, secret, ...; by
    default the usual AWS settings)."""

    def __init__(
        self,
        shards: str | Path | Sequence[str | Path],
        profile: Profile | str,
        *,
        classes: dict[str, int] | str | Path | None = None,
        storage_options: dict[str, Any] | None = None,
    ) -> None:
        self.storage_options = storage_options or {}
        self.shards = expand(shards, self.storage_options)
        self.decode = SampleDecoder(profile, class_map(classes, self.shards, self.storage_options))

    def __iter__(self) -> Iterator[TrainingSample]:
        for shard in self._assigned():
            if not is_url(shard):
                yield from map(self.decode, raw_samples(shard))
                continue
            import fsspec

            with fsspec.open(shard, "rb", **self.storage_options) as stream:
                yield from map(self.decode, raw_samples(stream))

    def _assigned(self) -> list[str]:
        """Every shard, or in a DataLoader worker its share of them."""
        if _Base is object:
            return self.shards
        from torch.utils.data import get_worker_info

        worker = get_worker_info()
        return self.shards if worker is None else self.shards[worker.id :: worker.num_workers]


def is_url(text: str | Path) -> bool:
    return "://" in str(text)


def expand(
    shards: str | Path | Sequence[str | Path], storage_options: dict[str, Any] | None = None
) -> list[str]:
    patterns = [shards] if isinstance(shards, str | Path) else list(shards)
    found: list[str] = []
    for pattern in patterns:
        if is_url(pattern):
            found += _expand_url(str(pattern), storage_options or {})
            continue
        matches = sorted(glob.glob(str(pattern))) if glob.has_magic(str(pattern)) else []
        if not matches and not Path(pattern).is_file():
            raise FileNotFoundError(f"no shard at {pattern}")
        found += matches or [str(pattern)]
    return found


def _expand_url(pattern: str, storage_options: dict[str, Any]) -> list[str]:
    import fsspec

    files = fsspec.open_files(pattern, "rb", **storage_options)
    if not files:
        raise FileNotFoundError(f"no shard at {pattern}")
    protocol = pattern.split("://", 1)[0]
    return sorted(f"{protocol}://{file.path}" for file in files)


def class_map(
    classes: dict[str, int] | str | Path | None,
    shards: list[str],
    storage_options: dict[str, Any] | None = None,
) -> dict[str, int] | None:
    if isinstance(classes, dict):
        return classes
    if classes is None and is_url(shards[0]):
        return _url_class_map(shards[0].rsplit("/", 1)[0] + "/" + CLASSES, storage_options or {})
    path = Path(classes) if classes is not None else Path(shards[0]).parent / CLASSES
    if classes is None and not path.is_file():
        return None
    loaded: Any = json.loads(path.read_text())
    return {str(name): int(index) for name, index in loaded.items()}


def _url_class_map(url: str, storage_options: dict[str, Any]) -> dict[str, int] | None:
    import fsspec

    try:
        with fsspec.open(url, "rb", **storage_options) as stream:
            loaded: Any = json.loads(stream.read())
    except FileNotFoundError:
        return None
    return {str(name): int(index) for name, index in loaded.items()}


def collate(batch: list[TrainingSample]) -> dict[str, Any]:
    """A DataLoader's collate_fn: arrays stacked (a torch tensor where torch is installed),
    geometries, labels and keys as lists, label indices as a tensor when every one has one."""
    arrays: Any = np.stack([sample.array for sample in batch])
    indices: Any = [sample.label_index for sample in batch]
    if _Base is not object:
        import torch

        arrays = torch.from_numpy(arrays)
        if all(index is not None for index in indices):
            indices = torch.tensor(indices)
    return {
        "array": arrays,
        "geometry": [sample.geometry for sample in batch],
        "label": [sample.label for sample in batch],
        "label_index": indices,
        "key": [sample.key for sample in batch],
    }
