"""Shards read back as WebDataset reads them: members grouped by key, in archive order."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from imagescaler.shards.layout import split_member

RawSample = dict[str, bytes | str]  # {"__key__": key, "npy": ..., "json": ...}, as webdataset


def raw_samples(shard: str | Path | IO[bytes]) -> Iterator[RawSample]:
    """The samples of one shard, read as a stream (a path or an open binary file)."""
    with (
        tarfile.open(fileobj=shard, mode="r|")
        if not isinstance(shard, str | Path)
        else tarfile.open(shard, mode="r|") as tar
    ):
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
            current[extension] = handle.read()
        if current:
            yield current
