"""What to preprocess: a folder (recursive), a glob, or a JSONL/CSV manifest, as items with
stable keys."""

from __future__ import annotations

import csv
import glob
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".avif", ".jxl"}
)
MANIFEST_SUFFIXES = frozenset({".jsonl", ".csv"})


class UsageError(Exception):
    """A mistake in how the command was called: one line, exit status 2."""


@dataclass(frozen=True)
class Item:
    key: str  # stable: the relative path (dots made underscores), unless the manifest says
    source: str  # a file path or an http(s) URL
    label: str | None = None

    @property
    def is_url(self) -> bool:
        return self.source.startswith(("http://", "https://"))


@dataclass(frozen=True)
class Source:
    """The items, and the files of a folder or glob left out because they are not images."""

    items: list[Item]
    left_out: Counter[str] = field(default_factory=Counter)  # by suffix


def read_source(source: str) -> Source:
    """The items of SOURCE, in a stable order; UsageError when there is no such source."""
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        return _from_files(files, path)
    if path.is_file() and path.suffix.lower() in MANIFEST_SUFFIXES:
        return Source(_unique(_read_manifest(path), str(path)))
    if glob.has_magic(source):
        matches = sorted(Path(m) for m in glob.glob(source, recursive=True) if Path(m).is_file())
        if not matches:
            raise UsageError(f"no file matches {source!r}")
        return _from_files(matches, Path(_glob_root(source)))
    if path.is_file():
        raise UsageError(f"{source} is a file: give a folder, a glob, or a .jsonl/.csv manifest")
    raise UsageError(f"{source} does not exist")


def key_for(relative: Path) -> str:
    """The relative path, extension included, with its dots made underscores: WebDataset
    reads the first dot of a name as the start of the extension (`a/img.v2.jpg` ->
    `a/img_v2_jpg`). Stable whatever else the folder holds, and unique per file."""
    return re.sub(r"\.", "_", relative.as_posix())


def _from_files(files: list[Path], root: Path) -> Source:
    images = [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES]
    left_out = Counter(f.suffix.lower() or "(none)" for f in files if f not in set(images))
    items = [Item(key_for(f.relative_to(root)), str(f)) for f in images]
    return Source(_unique(items, str(root)), left_out)


def _unique(items: list[Item], where: str) -> list[Item]:
    seen: dict[str, str] = {}
    for item in items:
        if item.key in seen:
            raise UsageError(
                f"{where}: {seen[item.key]} and {item.source} both make the key {item.key!r}"
            )
        seen[item.key] = item.source
    return items


def _glob_root(pattern: str) -> str:
    parts = Path(pattern).parts
    fixed = [p for p in parts[: next(i for i, p in enumerate(parts) if glob.has_magic(p))]]
    return str(Path(*fixed)) if fixed else "."


def _read_manifest(path: Path) -> list[Item]:
    rows = _manifest_rows(path)
    items = []
    for number, row in enumerate(rows, start=1):
        source = str(row.get("path") or row.get("url") or "")
        if not source:
            raise UsageError(f"{path}:{number}: a manifest row needs a `path` or a `url`")
        if row.get("path") and not Path(source).is_absolute():
            source = str(path.parent / source)  # relative to the manifest
        key = row.get("key") or key_for(Path(str(row.get("path") or f"item-{number:08d}")))
        label = row.get("label")
        items.append(Item(str(key), str(source), None if label is None else str(label)))
    return items


def _manifest_rows(path: Path) -> list[dict[str, object]]:
    try:
        if path.suffix.lower() == ".csv":
            with path.open(newline="") as handle:
                return list(csv.DictReader(handle))
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, json.JSONDecodeError, csv.Error) as error:
        raise UsageError(f"{path} cannot be read as a manifest: {error}") from None
