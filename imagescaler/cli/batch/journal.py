"""The run's journal (progress.jsonl): one line per item once its fate is final, so a rerun
knows what is done, and the index and errors.jsonl can be written from it at any time."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

JOURNAL = "progress.jsonl"
# Failures that the same bytes and profile will always meet again: a rerun skips them.
LASTING_FAILURES = frozenset(
    {"unsupported_image", "corrupt_image", "image_too_large", "invalid_request", "source_refused"}
)


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

    @property
    def settled(self) -> bool:
        """Done for good: written, or failed in a way that will not change."""
        return self.status == "ok" or self.reason in LASTING_FAILURES


class Journal:
    def __init__(self, folder: Path) -> None:
        self.path = folder / JOURNAL

    def entries(self) -> dict[str, Entry]:
        """The latest entry per key."""
        latest: dict[str, Entry] = {}
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                if line.strip():
                    entry = Entry(**json.loads(line))
                    latest[entry.key] = entry
        return latest

    def append(self, entries: list[Entry]) -> None:
        """Durably: once this returns, a crash does not lose these lines."""
        if not entries:
            return
        with self.path.open("a") as handle:
            handle.writelines(json.dumps(asdict(e), sort_keys=True) + "\n" for e in entries)
            handle.flush()
            os.fsync(handle.fileno())
