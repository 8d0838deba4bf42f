"""Ray Data: the per-item core as a `map_batches` callable class, and a Datasink that writes
its rows as this project's shards, with the index and errors beside them.

    import ray.data
    from imagescaler.shards.ray_data import PreprocessImages, ShardDatasink

    images = ray.data.read_binary_files("s3://data/train/", include_paths=True)
    samples = images.map_batches(
        PreprocessImages, fn_constructor_kwargs={"profile": "imagenet-224",
        "root": "data/train"}, compute=ray.data.ActorPoolStrategy(size=8), batch_size=32)
    samples.write_datasink(ShardDatasink("s3://data/shards/imagenet-224/"))

Each write task writes one shard (`samples_per_shard` rows, gathered by Ray), named from the
keys it holds (shard-<16 hex>.tar), then its entries (shard-<16 hex>.json). A shard appears
under its name only when whole (a rename in a folder; an upload's completion in S3), and its
entries only after it. `written_keys(out)` gives what any run wrote, finished or not, to
filter a rerun's input with, so nothing is written twice. ray is the `ray` extra; nothing
here imports it until used."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from imagescaler.imaging.builtin_profiles import BUILTIN_PROFILES
from imagescaler.imaging.formats import DEFAULT_LIMITS, configure_pillow
from imagescaler.imaging.profiles import Profile
from imagescaler.shards.items import Work, choose_store, run_profile
from imagescaler.shards.layout import SampleRecord, check_key
from imagescaler.shards.writer import Sample, ShardWriter, fsync_folder

_Datasink: Any = object  # the adapter's classes import without Ray; using them says to install it
with contextlib.suppress(ImportError):
    from ray.data import Datasink

    _Datasink = Datasink

ERRORS = "errors.jsonl"
INDEX = "index.parquet"


class PreprocessImages:
    """map_batches(PreprocessImages, fn_constructor_kwargs={"profile": ...}): a batch of
    `bytes` and `path` (read_binary_files(..., include_paths=True)) to rows of samples; a bad
    image is a row with its reason, not an error. Keys are the path under `root` with its dots
    made underscores, as `imagescaler batch` makes them."""

    def __init__(self, profile: Profile | str, root: str = "", store: str | None = None) -> None:
        chosen = BUILTIN_PROFILES[profile] if isinstance(profile, str) else profile
        self.work = Work(chosen, choose_store(chosen, store))
        self.pixels = self.work.pixels
        self.root = root.rstrip("/")
        configure_pillow(DEFAULT_LIMITS.max_pixels)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        rows: dict[str, list[Any]] = {name: [] for name in ROW_COLUMNS}
        for index, (data, path) in enumerate(zip(batch["bytes"], batch["path"], strict=True)):
            row = self.row(index, bytes(data), str(path))
            for name in ROW_COLUMNS:
                rows[name].append(row[name])
        return rows

    def row(self, index: int, data: bytes, path: str) -> dict[str, Any]:
        key = self.key(path)
        digest = hashlib.sha256(data).hexdigest()
        outcome = run_profile(index, data, self.work, self.pixels, DEFAULT_LIMITS)
        row = {"key": key, "source": path, "profile": self.work.profile.reference}
        if not outcome.ok:
            failed = {"reason": outcome.reason, "message": outcome.message}
            return {**row, "extension": "", "data": b"", "record": b"", **failed}
        assert outcome.geometry is not None
        record = SampleRecord(
            key, outcome.profile, outcome.geometry, path, digest, len(data), outcome.output,
            tensor=outcome.tensor,
        )  # fmt: skip
        sample = {"extension": outcome.extension, "data": outcome.data, "record": record.to_json()}
        return {**row, **sample, "reason": "", "message": ""}

    def key(self, path: str) -> str:
        relative = path.split("://", 1)[-1]
        if self.root and relative.startswith(self.root.split("://", 1)[-1] + "/"):
            relative = relative[len(self.root.split("://", 1)[-1]) + 1 :]
        return check_key(PurePosixPath(relative).as_posix().lstrip("/").replace(".", "_"))


ROW_COLUMNS = ("key", "source", "extension", "data", "record", "reason", "message", "profile")


class ShardDatasink(_Datasink):  # type: ignore[misc]
    """Writes the rows of PreprocessImages as shards under `out` (a folder, or any fsspec URL
    such as s3://bucket/prefix/), each followed by its entries (shard-....json: the keys it
    holds and the failures of its task), then index.parquet and errors.jsonl from them all.
    What a failed job wrote is known from those files: a rerun filtered with written_keys()
    does not write it twice, however Ray groups the rows the next time."""

    def __init__(
        self,
        out: str,
        storage_options: dict[str, Any] | None = None,
        samples_per_shard: int = 1000,
    ) -> None:
        if _Datasink is object:
            raise ImportError("ShardDatasink needs Ray Data: pip install 'imagescaler[ray]'")
        self.out = out.rstrip("/")
        self.storage_options = storage_options or {}
        self.samples_per_shard = samples_per_shard

    def get_name(self) -> str:
        return "imagescaler shards"

    @property
    def min_rows_per_write(self) -> int:
        """Rows Ray gathers for one write task: one shard each, not one per block."""
        return self.samples_per_shard

    def write(self, blocks: Iterable[Any], ctx: Any) -> list[dict[str, Any]]:
        rows = [row for block in blocks for row in _rows(block)]
        samples = [row for row in rows if row["extension"]]
        keys = [row["key"] for row in rows]
        name = _shard_name(keys)
        shard = f"{name}.tar" if samples else None
        with tempfile.TemporaryDirectory() as scratch:
            if shard is not None:
                writer = ShardWriter(Path(scratch), 0)
                try:
                    for row in samples:
                        writer.add(Sample(row["key"], row["extension"], row["data"], row["record"]))
                    writer.close()
                finally:
                    writer.discard()
                self._put(Path(scratch) / writer.name, shard)
            entries = [_entry(row, shard) for row in rows]
            listed = Path(scratch) / f"{name}.json"  # after the shard: it vouches for it
            listed.write_text(json.dumps(entries))
            self._put(listed, listed.name)
        return entries

    def on_write_complete(self, write_result: Any) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        entries = _all_entries(self.out, self.storage_options)
        failed = [entry for entry in entries if entry["status"] == "failed"]
        with tempfile.TemporaryDirectory() as scratch:
            index = Path(scratch) / INDEX
            pq.write_table(pa.Table.from_pylist(entries), index)
            errors = Path(scratch) / ERRORS
            errors.write_text("".join(json.dumps(entry) + "\n" for entry in failed))
            self._put(index, INDEX)
            self._put(errors, ERRORS)

    def _put(self, local: Path, name: str) -> None:
        """Whole under its name or not there: copied beside, flushed, renamed (a folder), or
        uploaded (object storage, where an upload appears only when complete)."""
        if "://" not in self.out:
            folder = Path(self.out)
            folder.mkdir(parents=True, exist_ok=True)
            partial = folder / f".{name}.partial"
            shutil.copyfile(local, partial)
            with partial.open("rb") as copied:
                os.fsync(copied.fileno())
            os.replace(partial, folder / name)
            fsync_folder(folder)
            return
        import fsspec

        filesystem, root = fsspec.core.url_to_fs(self.out, **self.storage_options)
        filesystem.put_file(str(local), f"{root}/{name}")


def _rows(block: Any) -> list[dict[str, Any]]:
    """A block's rows: Ray hands over Arrow tables or pandas frames."""
    rows: list[dict[str, Any]] = (
        block.to_pylist() if hasattr(block, "to_pylist") else block.to_dict("records")
    )
    return rows


def _entry(row: dict[str, Any], shard: str | None) -> dict[str, Any]:
    """What the index holds of a row."""
    ok = bool(row["extension"])
    return {
        "key": row["key"], "source": row["source"], "profile": row["profile"],
        "status": "ok" if ok else "failed", "shard": shard if ok else None,
        "reason": row["reason"] or None, "message": row["message"] or None,
    }  # fmt: skip


def _shard_name(keys: list[str]) -> str:
    """shard-<16 hex>, from the keys of one write task."""
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:16]
    return f"shard-{digest}"


def written_keys(out: str, storage_options: dict[str, Any] | None = None) -> set[str]:
    """The keys written so far, by any run, finished or not: to leave out of a rerun."""
    return {e["key"] for e in _all_entries(out, storage_options) if e["status"] == "ok"}


def _all_entries(out: str, storage_options: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Every shard's entries (shard-....json), the latest per key (ok over failed)."""
    listings: list[bytes]
    if "://" not in out:
        folder = Path(out)
        listings = [p.read_bytes() for p in sorted(folder.glob("shard-*.json"))]
    else:
        import fsspec

        filesystem, root = fsspec.core.url_to_fs(out, **(storage_options or {}))
        try:
            paths = sorted(filesystem.glob(f"{root}/shard-*.json"))
        except FileNotFoundError:
            paths = []
        found = filesystem.cat(paths) if paths else {}
        listings = [found[path] for path in paths]
    latest: dict[str, dict[str, Any]] = {}
    for listing in listings:
        for entry in json.loads(listing):
            before = latest.get(entry["key"])
            if before is None or before["status"] != "ok":
                latest[entry["key"]] = entry
    return list(latest.values())
