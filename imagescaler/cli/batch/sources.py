"""What to preprocess: a folder (recursive), a glob, or a JSONL/CSV manifest, as items with
stable keys."""

from __future__ import annotations

import csv
import glob
import json
import re
from dataclasses import dataclass
from pathlib import Path

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".avif", ".jxl"}
)
MANIFEST_SUFFIXES = frozenset({".jsonl", ".csv"})


class UsageError(Exception):
    """A mistake in how the command was called: one line, exit status 2."""


@dataclass(frozen=True)
class Item:
    key: str  # stable: the relative path without its extension, unless the manifest says
    source: str  # a file path or an http(s) URL
    label: str | None = None

    @property
    def is_url(self) -> bool:
        return self.source.startswith(("http://", "https://"))


def read_source(source: str) -> list[Item]:
    """The items of SOURCE, in a stable order; UsageError when there is no such source."""
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and _is_image_name(p))
        return [Item(key_for(p.relative_to(path)), str(p)) for p in files]
    if path.is_file() and path.suffix.lower() in MANIFEST_SUFFIXES:
        return _read_manifest(path)
    if glob.has_magic(source):
        matches = sorted(Path(m) for m in glob.glob(source, recursive=True) if Path(m).is_file())
        if not matches:
            raise UsageError(f"no file matches {source!r}")
        root = Path(_glob_root(source))
        return [Item(key_for(m.relative_to(root)), str(m)) for m in matches]
    if path.is_file():
        raise UsageError(f"{source} is a file: give a folder, a glob, or a .jsonl/.csv manifest")
    raise UsageError(f"{source} does not exist")


def key_for(relative: Path) -> str:
    """The relative path without its extension, with the dots WebDataset would read as the
    start of an extension replaced (`a/img.v2.jpg` -> `a/img_v2`)."""
    stem = relative.with_suffix("").as_posix()
    return re.sub(r"\.", "_", stem)


def _is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


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
    keys = [item.key for item in items]
    if len(set(keys)) != len(keys):
        raise UsageError(f"{path}: keys must be unique")
    return items


def _manifest_rows(path: Path) -> list[dict[str, object]]:
    try:
        if path.suffix.lower() == ".csv":
            with path.open(newline="") as handle:
                return list(csv.DictReader(handle))
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, json.JSONDecodeError, csv.Error) as error:
        raise UsageError(f"{path} cannot be read as a manifest: {error}") from None
