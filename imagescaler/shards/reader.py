"""Shards read back as WebDataset reads them: members grouped by key, in archive order."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from imagescaler.shards.layout import split_member

RawSample = dict[str, bytes | str]  # {"__key__": key, "npy": ..., "json": ...}, as webdataset


def raw_samples(
    shard: str | Path | IO[bytes], only: frozenset[str] | None = None
) -> Iterator[RawSample]:
    """The samples of one shard, read as a stream (a path or an open binary file). With
    `only`, just those extensions are read; a path is then opened for seeking, so the other
    members' data (a shard's tensors) is skipped, not read."""
    with _open(shard, seekable=only is not None) as tar:
        current: RawSample = {}
        for member in tar:
            if not member.isfile():
                continue
            key, extension = split_member(member.name)
            if current and current["__key__"] != key:
                yield current
                current = {}
            handle = tar.extractfile(member)
            assert handle is not None  # a regular file
            current.setdefault("__key__", key)
            if only is None or extension in only:
                current[extension] = handle.read()
        if current:
            yield current


def _open(shard: str | Path | IO[bytes], *, seekable: bool) -> tarfile.TarFile:
    if isinstance(shard, str | Path):
        return tarfile.open(shard, mode="r:" if seekable else "r|")
    return tarfile.open(fileobj=shard, mode="r|")
