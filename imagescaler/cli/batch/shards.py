"""WebDataset tar shards, written under a temporary name and renamed when complete, so an
interrupted run never leaves half a shard."""

from __future__ import annotations

import io
import os
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

SHARD_NAME = re.compile(r"^shard-(\d{6})\.tar$")


@dataclass(frozen=True)
class Sample:
    """One sample: KEY.<extension> with the data and KEY.json with what describes it."""

    key: str
    extension: str  # npy, jpg, png or webp
    data: bytes
    metadata: bytes  # JSON


class ShardWriter:
    """Appends samples to shard-NNNNNN.tar.tmp; close() renames it to shard-NNNNNN.tar."""

    def __init__(self, folder: Path, number: int) -> None:
        self.name = f"shard-{number:06d}.tar"
        self._final = folder / self.name
        self._temporary = folder / (self.name + ".tmp")
        self._tar = tarfile.open(self._temporary, "w", format=tarfile.PAX_FORMAT)  # noqa: SIM115 - closed by close() or discard()
        self.samples = 0

    def add(self, sample: Sample) -> None:
        for suffix, payload in ((sample.extension, sample.data), ("json", sample.metadata)):
            info = tarfile.TarInfo(f"{sample.key}.{suffix}")
            info.size, info.mode, info.mtime = len(payload), 0o644, 0
            self._tar.addfile(info, io.BytesIO(payload))
        self.samples += 1

    def close(self) -> None:
        """Complete the shard: flush it to disk, then give it its final name."""
        self._tar.close()
        with self._temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(self._temporary, self._final)

    def discard(self) -> None:
        self._tar.close()
        self._temporary.unlink(missing_ok=True)


def next_shard_number(folder: Path) -> int:
    """After the highest complete shard; leftovers of an interrupted run are removed."""
    for leftover in folder.glob("shard-*.tar.tmp"):
        leftover.unlink()
    numbers = [int(m[1]) for p in folder.iterdir() if (m := SHARD_NAME.match(p.name))]
    return max(numbers, default=-1) + 1
