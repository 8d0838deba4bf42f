"""Shards written so that no reader ever sees half of one: samples go to
shard-NNNNNN.tar.tmp, which is flushed to disk and only then renamed to shard-NNNNNN.tar (the
rename is atomic, and the folder is flushed after it). Whatever stops the writer leaves either
a complete shard under its final name or a .tmp file, which the next run removes."""

from __future__ import annotations

import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from imagescaler.shards.layout import SHARD_NAME

TEMPORARY_SUFFIX = ".tmp"
# What close() adds: two 512-byte end blocks, and padding to tarfile's 10 KiB record.
CLOSING_BYTES = 1024 + tarfile.RECORDSIZE


@dataclass(frozen=True)
class Sample:
    """One sample: KEY.<extension> with the data, and KEY.json with its SampleRecord."""

    key: str
    extension: str  # npy, jpg, png or webp
    data: bytes
    metadata: bytes  # JSON

    @property
    def size(self) -> int:
        """Its bytes in the archive: a 512-byte header each for the data and the JSON (with a
        PAX header of 1 KiB more for a name over 100 bytes), each payload padded to 512."""
        pax = 2 * 1024 if len(self.key) + 6 > 100 else 0
        padded = sum(512 + -(-len(p) // 512) * 512 for p in (self.data, self.metadata))
        return padded + pax


class ShardWriter:
    """Appends samples to shard-NNNNNN.tar.tmp; close() makes it shard-NNNNNN.tar."""

    def __init__(self, folder: Path, number: int) -> None:
        self.name = f"shard-{number:06d}.tar"
        self.folder = folder
        self._final = folder / self.name
        self._temporary = folder / (self.name + TEMPORARY_SUFFIX)
        self._tar = tarfile.open(self._temporary, "w", format=tarfile.PAX_FORMAT)  # noqa: SIM115 - closed by close() or discard()
        self.samples = 0
        self.renamed = False  # complete under its final name

    @property
    def bytes(self) -> int:
        """Written so far (the end-of-archive blocks not counted)."""
        return self._tar.offset

    def add(self, sample: Sample) -> None:
        for suffix, payload in ((sample.extension, sample.data), ("json", sample.metadata)):
            info = tarfile.TarInfo(f"{sample.key}.{suffix}")
            info.size, info.mode, info.mtime = len(payload), 0o644, 0
            self._tar.addfile(info, io.BytesIO(payload))
        self.samples += 1

    def close(self) -> None:
        """Complete the shard: end the archive, flush it to disk, give it its final name."""
        self._tar.close()
        with self._temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(self._temporary, self._final)
        self.renamed = True
        fsync_folder(self.folder)

    def discard(self) -> None:
        """Drop the unfinished shard; safe to call after close() (the .tmp is gone then)."""
        try:
            self._tar.close()
        except (OSError, tarfile.TarError):
            pass  # a full disk, or an archive cut mid-member: the file goes anyway
        finally:
            self._temporary.unlink(missing_ok=True)


def fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def complete_shards(folder: Path) -> list[Path]:
    """The shards of `folder` by number; leftovers of an interrupted run are removed first."""
    for leftover in folder.glob(f"shard-*.tar{TEMPORARY_SUFFIX}"):
        leftover.unlink()
    return sorted(p for p in folder.iterdir() if SHARD_NAME.match(p.name))


def next_shard_number(shards: list[str]) -> int:
    """After the highest-numbered of these shard names."""
    numbers = [int(m[1]) for name in shards if (m := SHARD_NAME.match(name))]
    return max(numbers, default=-1) + 1
