"""index.parquet (one row per item, good or failed) and errors.jsonl, from the journal."""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path

from imagescaler.cli.batch.journal import Entry


def write_index(folder: Path, entries: list[Entry]) -> None:
    import pyarrow as pa  # the batch extra; checked before the run starts
    import pyarrow.parquet as pq

    columns = {field.name: [getattr(e, field.name) for e in entries] for field in fields(Entry)}
    temporary = folder / "index.parquet.tmp"
    pq.write_table(pa.table(columns), temporary)
    temporary.replace(folder / "index.parquet")


def write_errors(folder: Path, entries: list[Entry]) -> None:
    failed = [e for e in entries if e.status == "failed"]
    temporary = folder / "errors.jsonl.tmp"
    temporary.write_text(
        "".join(
            json.dumps({k: v for k, v in asdict(e).items() if k in ERROR_FIELDS}) + "\n"
            for e in failed
        )
    )
    temporary.replace(folder / "errors.jsonl")


ERROR_FIELDS = ("key", "source", "reason", "message", "profile")
