"""What to preprocess: a folder (recursive), a glob, or a JSONL/CSV manifest, as items with
stable keys that are safe archive member names, and labels from the manifest or the folders."""

from __future__ import annotations

import csv
import glob
import json
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from imagescaler.cli.batch.object_storage import SCHEME, filesystem, is_s3, list_objects
from imagescaler.shards.layout import check_key

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".avif", ".jxl"}
)
MANIFEST_SUFFIXES = frozenset({".jsonl", ".csv"})


class UsageError(Exception):
    """A mistake in how the command was called: one line, exit status 2."""


@dataclass(frozen=True)
class Item:
    key: str  # stable: the relative path (dots made underscores), unless the manifest says
    source: str  # a file path, an http(s) URL or an s3:// object
    label: str | None = None
    etag: str | None = None  # an s3:// object's, as listed: identifies its content
    size: int | None = None  # an s3:// object's, as listed

    @property
    def is_url(self) -> bool:
        return self.source.startswith(("http://", "https://"))

    @property
    def is_object(self) -> bool:
        return is_s3(self.source)


@dataclass(frozen=True)
class Source:
    """The items, and the files of a folder or glob left out because they are not images."""

    items: list[Item]
    left_out: Counter[str] = field(default_factory=Counter)  # by suffix


def read_source(
    source: str,
    *,
    labels_from_folders: bool = False,
    root: Path | None = None,
    s3_endpoint: str | None = None,
) -> Source:
    """The items of SOURCE, in a stable order; UsageError when there is no such source.

    labels_from_folders: the first folder under SOURCE names each image's class. root: the
    folder a manifest's paths must stay inside (default: the manifest's own folder)."""
    if is_s3(source):
        if root is not None:
            raise UsageError("--root is for a manifest: a bucket prefix is its own root")
        return _from_bucket(source, labels_from_folders, s3_endpoint)
    path = Path(source)
    if path.is_file() and path.suffix.lower() in MANIFEST_SUFFIXES:
        if labels_from_folders:
            raise UsageError(
                "--labels-from-folders is for a folder or a glob: a manifest has labels"
            )
        return Source(_unique(_read_manifest(path, root or path.parent), str(path)))
    if root is not None:
        raise UsageError("--root is for a manifest: a folder or a glob is its own root")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        return _from_files(files, path, labels_from_folders)
    if glob.has_magic(source):
        matches = sorted(Path(m) for m in glob.glob(source, recursive=True) if Path(m).is_file())
        if not matches:
            raise UsageError(f"no file matches {source!r}")
        return _from_files(matches, Path(_glob_root(source)), labels_from_folders)
    if path.is_file():
        raise UsageError(f"{source} is a file: give a folder, a glob, or a .jsonl/.csv manifest")
    raise UsageError(f"{source} does not exist")


def _from_bucket(url: str, labels_from_folders: bool, endpoint: str | None) -> Source:
    """Every object under an s3:// prefix, recursively, keyed by its key under the prefix."""
    try:
        listed = list_objects(filesystem(endpoint), url)
    except (OSError, ValueError, ImportError) as error:
        raise UsageError(f"cannot list {url}: {error}") from None
    images, left_out = [], Counter[str]()
    for found in listed:
        suffix = PurePosixPath(found.relative).suffix.lower()
        if suffix in IMAGE_SUFFIXES:
            images.append(found)
        else:
            left_out[suffix or "(none)"] += 1
    if not images:
        raise UsageError(f"no image under {url}")
    items = []
    for found in images:
        item = _file_item(PurePosixPath(found.relative), found.url, labels_from_folders)
        items.append(replace(item, etag=found.etag, size=found.size))
    return Source(_unique(items, url), left_out)


def key_for(relative: PurePosixPath | Path) -> str:
    """The relative path, extension included, with its dots made underscores: WebDataset
    reads the first dot of a name as the start of the extension (`a/img.v2.jpg` ->
    `a/img_v2_jpg`). Stable whatever else the folder holds, and unique per file."""
    return re.sub(r"\.", "_", relative.as_posix())


def _from_files(files: list[Path], root: Path, labels_from_folders: bool) -> Source:
    images = [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES]
    chosen = set(images)
    left_out = Counter(f.suffix.lower() or "(none)" for f in files if f not in chosen)
    items = [_file_item(f.relative_to(root), f, labels_from_folders) for f in images]
    return Source(_unique(items, str(root)), left_out)


def _file_item(relative: PurePosixPath | Path, path: Path | str, labels_from_folders: bool) -> Item:
    label = None
    if labels_from_folders:
        if len(relative.parts) < 2:
            raise UsageError(
                f"{path} is not inside a class folder: with --labels-from-folders, every "
                "image is in SOURCE/CLASS/..."
            )
        label = relative.parts[0]
    return Item(_safe(key_for(relative), str(path)), str(path), label)


def _safe(key: str, where: str) -> str:
    try:
        return check_key(key)
    except ValueError as error:
        raise UsageError(f"{where}: {error}") from None


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


def _read_manifest(path: Path, root: Path) -> list[Item]:
    items = []
    for number, row in enumerate(_manifest_rows(path), start=1):
        where = f"{path}:{number}"
        if row.get("path"):
            file = _inside(path.parent / str(row["path"]), root, where)  # relative to it
            source, default_key = str(file), key_for(file.relative_to(root.resolve()))
        elif row.get("url"):
            source, default_key = str(row["url"]), f"item-{number:08d}"
            if not source.startswith(("http://", "https://", SCHEME)):
                raise UsageError(f"{where}: a url is http(s):// or s3://, not {source!r}")
        else:
            raise UsageError(f"{where}: a manifest row needs a `path` or a `url`")
        key = _safe(str(row.get("key") or default_key), where)
        label = row.get("label")
        items.append(Item(key, str(source), None if label in (None, "") else str(label)))
    return items


def _inside(path: Path, root: Path, where: str) -> Path:
    """The path, resolved (links followed), if it stays inside root."""
    resolved, folder = path.resolve(), root.resolve()
    if not resolved.is_relative_to(folder):
        raise UsageError(
            f"{where}: {path} is outside {folder}; a manifest's paths stay inside its folder "
            "(or the folder given with --root)"
        )
    return resolved


def _manifest_rows(path: Path) -> list[dict[str, object]]:
    try:
        if path.suffix.lower() == ".csv":
            with path.open(newline="") as handle:
                return list(csv.DictReader(handle))
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, json.JSONDecodeError, csv.Error) as error:
        raise UsageError(f"{path} cannot be read as a manifest: {error}") from None
