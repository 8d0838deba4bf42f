"""Checks of a batch run's output folder: what any interrupted run must leave."""

from __future__ import annotations

import json
import tarfile
from collections import Counter
from pathlib import Path


def shard_members(shard: Path) -> dict[str, bytes]:
    """Every member of a shard, every byte read: a cut or damaged tar fails here."""
    members: dict[str, bytes] = {}
    with tarfile.open(shard) as tar:
        for member in tar.getmembers():
            data = tar.extractfile(member)
            assert data is not None, f"{shard.name}: {member.name} is not a file"
            assert member.name not in members, f"{shard.name}: {member.name} twice"
            members[member.name] = data.read()
            assert len(members[member.name]) == member.size, f"{shard.name} is cut short"
    return members


def assert_consistent(out: Path) -> dict[str, str]:
    """Every shard-*.tar whole and readable, every sample complete (data and JSON), no key in
    two shards, and every item the journal records as written readable from its shard.
    Returns key -> shard of every sample on disk."""
    where: dict[str, str] = {}
    for shard in sorted(out.glob("shard-*.tar")):
        members = shard_members(shard)
        keys = Counter(name.split(".", 1)[0] for name in members)
        assert all(n == 2 for n in keys.values()), f"{shard.name}: a sample lacks a part"
        for key in keys:
            assert key not in where, f"{key} is in {where.get(key)} and {shard.name}"
            assert json.loads(members[f"{key}.json"])["key"] == key
            where[key] = shard.name
    journal = out / "progress.jsonl"
    lines = journal.read_text().splitlines() if journal.exists() else []
    for line in lines[:-1] if lines and not journal.read_text().endswith("\n") else lines:
        entry = json.loads(line)
        if entry["status"] == "ok":
            assert where.get(entry["key"]) == entry["shard"], f"{entry['key']} is not readable"
    return where
