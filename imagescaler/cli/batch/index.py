"""What a run leaves beside its shards, from the journal: index.parquet (one row per item,
good or failed), errors.jsonl, and classes.json (label -> index) when items have labels.
Each is written under a temporary name and renamed, so a reader sees a whole file."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING

from imagescaler.cli.batch.journal import Entry

if TYPE_CHECKING:
    from imagescaler.cli.batch.outputs import Output
from imagescaler.shards.layout import CLASSES

ERROR_FIELDS = ("key", "source", "reason", "message", "profile")


def write_outputs(output: Output, latest: dict[str, Entry], keys: set[str]) -> int:
    """Write the three files; the number of this source's items that failed."""
    entries = list(latest.values())
    folder = output.staging
    write_index(folder, entries)
    write_errors(folder, entries)
    written = ["index.parquet", "errors.jsonl"]
    labels = sorted({e.label for e in entries if e.label is not None})
    if labels:
        replace_text(folder / CLASSES, json.dumps({label: n for n, label in enumerate(labels)}))
        written.append(CLASSES)
    for name in written:
        output.publish(name)
    return sum(1 for e in entries if e.key in keys and e.status == "failed")


def write_index(folder: Path, entries: list[Entry]) -> None:
    import pyarrow as pa  # the batch extra; checked before the run starts
    import pyarrow.parquet as pq

    columns = {field.name: [getattr(e, field.name) for e in entries] for field in fields(Entry)}
    columns["tensor"] = [json.dumps(t, sort_keys=True) if t else None for t in columns["tensor"]]
    temporary = folder / "index.parquet.tmp"
    pq.write_table(pa.table(columns), temporary)
    temporary.replace(folder / "index.parquet")


def write_errors(folder: Path, entries: list[Entry]) -> None:
    failed = [e for e in entries if e.status == "failed"]
    replace_text(
        folder / "errors.jsonl",
        "".join(
            json.dumps({k: v for k, v in e.fields().items() if k in ERROR_FIELDS}) + "\n"
            for e in failed
        ),
    )


def replace_text(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    temporary.replace(path)
