"""The run's journal (progress.jsonl): one line per item once its fate is final, so a rerun
knows what is done, and the index and errors.jsonl can be written from it at any time.

An item is journalled as written only after its shard is complete under its final name, so a
journalled item can always be read back. A crash can still cut the last line short, or come
between a shard's rename and its lines: `Journal.open` mends both (the cut line is dropped;
the last shard's samples are journalled from the shard itself, which describes each one)."""

from __future__ import annotations

import json
import os
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO, Any, Protocol

from imagescaler.shards.layout import SampleRecord
from imagescaler.shards.reader import raw_samples

JOURNAL = "progress.jsonl"
# Failures that the same bytes and profile will always meet again: a rerun skips them.
LASTING_FAILURES = frozenset(
    {"unsupported_image", "corrupt_image", "image_too_large", "invalid_request", "source_refused"}
)


class JournalError(Exception):
    """A journal this version cannot resume from; the message says which line and why."""


@dataclass(frozen=True)
class Entry:
    key: str
    source: str
    sha256: str  # of the source's bytes
    profile: str  # the reference: name@version#hash
    status: str  # "ok" or "failed"
    shard: str | None = None
    source_bytes: int = 0
    output: str = ""  # "3x224x224 float32", "1024x768 jpg"
    label: str | None = None
    reason: str | None = None
    message: str | None = None
    tensor: dict[str, Any] | None = None  # storage and normalisation (tensor profiles)
    etag: str | None = None  # an s3:// source's: unchanged, it is skipped without a read

    def fields(self) -> dict[str, Any]:
        """As JSON-ready fields (dataclasses.asdict deep-copies: slow for millions)."""
        return {name: getattr(self, name) for name in ENTRY_FIELD_NAMES}

    @property
    def settled(self) -> bool:
        """Done for good: written, or failed in a way that will not change."""
        return self.status == "ok" or self.reason in LASTING_FAILURES

    @classmethod
    def written(cls, record: SampleRecord, shard: str) -> Entry:
        return cls(
            record.key, record.source, record.sha256, record.profile, "ok", shard,
            record.source_bytes, record.output, record.label, tensor=record.tensor,
        )  # fmt: skip


ENTRY_FIELD_NAMES = tuple(field.name for field in fields(Entry))
ENTRY_FIELDS = frozenset(ENTRY_FIELD_NAMES)


class JournalLines(Protocol):
    """Where the journal's lines are kept: a file, or objects in a bucket."""

    where: str
    whole_appends: bool  # an append is there whole or not at all

    def read(self) -> bytes:
        """Every complete line, in order (a line cut by a crash is dropped)."""

    def append(self, text: str) -> None:
        """Durably: once this returns, a crash does not lose these lines."""


class FileLines:
    """progress.jsonl in the output folder, appended to and flushed to disk."""

    whole_appends = False  # a crash can cut the last line of an append

    def __init__(self, folder: Path) -> None:
        self.path = folder / JOURNAL
        self.where = str(self.path)

    def read(self) -> bytes:
        """A last line without its newline was cut by a crash: it is cut off the file (its
        item is simply done again)."""
        if not self.path.exists():
            return b""
        data = self.path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        if len(complete) < len(data):
            with self.path.open("r+b") as handle:
                handle.truncate(len(complete))
                os.fsync(handle.fileno())
        return complete

    def append(self, text: str) -> None:
        with self.path.open("a") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())


class Journal:
    def __init__(self, lines: JournalLines | Path) -> None:
        self.lines = FileLines(lines) if isinstance(lines, Path) else lines

    def open(
        self, last_shard: str | None, records: Callable[[str], list[SampleRecord]]
    ) -> dict[str, Entry]:
        """Mend what a crash may have left (the last shard's samples journalled from the
        shard itself, read with `records`), then the latest entry per key."""
        lines = self._lines()
        recorded = {e.key for e in lines if e.shard == last_shard}
        if last_shard is not None and not (recorded and self.lines.whole_appends):
            # Journalled whole or not at all, a shard with any line has all of them: it is
            # read (in S3, downloaded) only where a crash could have cut its lines.
            missing = [
                Entry.written(record, last_shard)
                for record in records(last_shard)
                if record.key not in recorded
            ]
            self.append(missing)
            lines += missing
        return {entry.key: entry for entry in lines}

    def entries(self) -> dict[str, Entry]:
        """The latest entry per key."""
        return {entry.key: entry for entry in self._lines()}

    def append(self, entries: list[Entry]) -> None:
        """Durably: once this returns, a crash does not lose these lines."""
        if entries:
            self.lines.append(
                "".join(json.dumps(e.fields(), sort_keys=True) + "\n" for e in entries)
            )

    def _lines(self) -> list[Entry]:
        text = self.lines.read().decode(errors="replace")
        return [
            parse_line(line, number)
            for number, line in enumerate(text.splitlines(), 1)
            if line.strip()
        ]


def parse_line(line: str, number: int) -> Entry:
    where = f"{JOURNAL} line {number}"
    try:
        fields_ = json.loads(line)
    except json.JSONDecodeError as error:
        raise JournalError(f"{where} is not JSON ({error.msg})") from None
    if not isinstance(fields_, dict):
        raise JournalError(f"{where} is not a journal entry")
    unknown = sorted(set(fields_) - ENTRY_FIELDS)
    if unknown:
        raise JournalError(f"{where} has fields this version does not know: {', '.join(unknown)}")
    try:
        return Entry(**fields_)
    except TypeError:
        raise JournalError(f"{where} lacks a key, source, sha256, profile or status") from None


def shard_records(shard: Path | IO[bytes], name: str) -> list[SampleRecord]:
    """The SampleRecord of every sample of a complete shard (a path, or a stream of it)."""
    try:
        return _records(shard, name)
    except (tarfile.TarError, EOFError) as error:
        raise JournalError(
            f"{name} was never journalled and cannot be read ({error}): it was not "
            "written by this command, or the disk damaged it; move it away and run again"
        ) from None


def _records(shard: Path | IO[bytes], name: str) -> list[SampleRecord]:
    records = []
    for raw in raw_samples(shard, only=frozenset({"json"})):  # the tensors are not read
        try:
            records.append(SampleRecord.from_json(raw["json"]))  # type: ignore[arg-type]
        except (KeyError, TypeError, ValueError):
            raise JournalError(
                f"{name} was never journalled and its sample {raw['__key__']!r} does not "
                "describe itself (a shard of an older version?): move it away and run again"
            ) from None
    return records
