"""`imagescaler batch`: check the call, skip what is already done, run the rest, report.

Exit status: 0 when every item is written, 1 when some failed (errors.jsonl lists them),
2 for a mistake in the call, 130 when interrupted (what was finished is kept)."""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import grpc

from imagescaler.cli.batch.engines import (
    Job,
    LocalEngine,
    Outcome,
    ServerEngine,
    list_server_profiles,
    metadata_json,
)
from imagescaler.cli.batch.index import write_errors, write_index
from imagescaler.cli.batch.journal import Entry, Journal
from imagescaler.cli.batch.progress import Progress, summary_table
from imagescaler.cli.batch.shards import Sample, ShardWriter, next_shard_number
from imagescaler.cli.batch.sources import Item, UsageError, read_source
from imagescaler.imaging.preprocess import DEFAULT_LIMITS
from imagescaler.imaging.profiles import (
    BUILTIN_PROFILES,
    ProfilesFileError,
    default_profile,
    load_profiles,
)
from imagescaler.runtime.memory_tuning import BATCH, tune_malloc
from imagescaler.runtime.settings import available_cpus

Engine = LocalEngine | ServerEngine


@dataclass(frozen=True)
class Plan:
    items: list[Item]
    left_out: Counter[str]  # files of the folder that are not images, by suffix
    out: Path
    engine: Engine
    reference: str  # of the profile, as the engine will report it
    shard_size: int
    fetch_urls: bool  # local runs download URLs themselves


def run(args: argparse.Namespace) -> int:
    tune_malloc(BATCH)  # before any thread: flat memory over millions of large buffers
    try:
        plan = prepare(args)
    except UsageError as error:
        print(f"imagescaler batch: {error}", file=sys.stderr)
        return 2
    return execute(plan)


def prepare(args: argparse.Namespace) -> Plan:
    if importlib.util.find_spec("pyarrow") is None:
        raise UsageError("index.parquet needs pyarrow: pip install 'imagescaler[batch]'")
    source = read_source(args.source)
    items, left_out = source.items, source.left_out
    out = writable_folder(Path(args.out))
    if args.server:
        if args.profiles_file:
            raise UsageError("--profiles-file is for --local: a server serves its own profiles")
        references = server_profiles(args.server)
        check_profile(args.profile, references)
        engine: Engine = ServerEngine(args.server, args.profile, args.concurrency or 2)
        reference = references[args.profile]
        return Plan(items, left_out, out, engine, reference, args.shard_size, False)
    profiles = {"default": default_profile(), **BUILTIN_PROFILES}
    if args.profiles_file:
        try:
            profiles |= load_profiles(Path(args.profiles_file))
        except ProfilesFileError as error:
            raise UsageError(str(error)) from None
    check_profile(args.profile, {name: p.reference for name, p in profiles.items()})
    profile = profiles[args.profile]
    engine = LocalEngine(profile, args.concurrency or available_cpus(), DEFAULT_LIMITS)
    return Plan(items, left_out, out, engine, profile.reference, args.shard_size, True)


def check_profile(name: str, references: dict[str, str]) -> None:
    if name not in references:
        raise UsageError(
            f"there is no profile {name!r}; known profiles: {', '.join(sorted(references))}"
        )


def server_profiles(target: str) -> dict[str, str]:
    try:
        return list_server_profiles(target)
    except grpc.RpcError as error:
        raise UsageError(f"cannot list the profiles of {target}: {error.code().name}") from None


def writable_folder(folder: Path) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise UsageError(f"cannot write to {folder}: {error.strerror or error}") from None
    return folder


def execute(plan: Plan) -> int:
    journal = Journal(plan.out)
    previous = journal.entries()
    runner = BatchRun(plan, journal, previous)
    started = time.monotonic()
    interrupted = runner.run()
    entries = list(journal.entries().values())
    write_index(plan.out, entries)
    write_errors(plan.out, entries)
    keys = {item.key for item in plan.items}
    failed = sum(1 for e in entries if e.key in keys and e.status == "failed")
    print(summary_table(plan, runner.counts, failed, time.monotonic() - started, interrupted))
    if interrupted:
        return 130
    return 1 if failed else 0


class BatchRun:
    """One run: jobs for what is not done yet, samples into shards, fates into the journal."""

    def __init__(self, plan: Plan, journal: Journal, previous: dict[str, Entry]) -> None:
        self.plan = plan
        self.journal = journal
        self.previous = previous
        self.counts: Counter[str] = Counter()
        self.progress = Progress(len(plan.items))
        self._digests: dict[int, tuple[str, int]] = {}
        self._number = next_shard_number(plan.out)
        self._writer: ShardWriter | None = None
        self._pending: list[Entry] = []

    def run(self) -> bool:
        """True when interrupted (Ctrl-C); what was finished is kept either way."""
        try:
            for outcome in self.plan.engine.run(self.jobs()):
                self.record(outcome)
        except KeyboardInterrupt:
            return True
        finally:
            self.close_shard()
            self.progress.close()
        return False

    def jobs(self) -> Iterator[Job]:
        for index, item in enumerate(self.plan.items):
            try:
                data = self.read(item)
            except (OSError, UsageError) as error:
                self.fail(item, "", 0, "unreadable", str(error))
                continue
            digest = hashlib.sha256(data or item.source.encode()).hexdigest()
            before = self.previous.get(item.key)
            unchanged = before and (before.sha256, before.profile) == (digest, self.plan.reference)
            if before and unchanged and before.settled:
                self.counts["skipped" if before.status == "ok" else "failed before"] += 1
                self.progress.advance(self.counts["failed"])
                continue
            self._digests[index] = (digest, len(data))
            url = item.source if item.is_url and not data else ""
            yield Job(index, data, url)

    def read(self, item: Item) -> bytes:
        if not item.is_url:
            return Path(item.source).read_bytes()
        return fetch(item.source) if self.plan.fetch_urls else b""

    def record(self, outcome: Outcome) -> None:
        item = self.plan.items[outcome.index]
        digest, size = self._digests.pop(outcome.index)
        if not outcome.ok:
            self.fail(item, digest, size, outcome.reason, outcome.message)
            return
        if self._writer is None:
            self._writer = ShardWriter(self.plan.out, self._number)
        metadata = metadata_json(outcome, item.source, item.label)
        self._writer.add(Sample(item.key, outcome.extension, outcome.data, metadata))
        entry = Entry(item.key, item.source, digest, outcome.profile, "ok", self._writer.name)
        self._pending.append(
            replace(entry, source_bytes=size, output=outcome.output, label=item.label)
        )
        if self._writer.samples >= self.plan.shard_size:
            self.close_shard()
        self.progress.advance(self.counts["failed"])

    def fail(self, item: Item, digest: str, size: int, reason: str, message: str) -> None:
        entry = Entry(item.key, item.source, digest, self.plan.reference, "failed")
        entry = replace(entry, source_bytes=size, label=item.label, reason=reason, message=message)
        self.journal.append([entry])
        self.counts["failed"] += 1
        self.progress.advance(self.counts["failed"])

    def close_shard(self) -> None:
        """Rename the shard into place, then journal its samples: never the other way."""
        if self._writer is None:
            return
        self._writer.close()
        self.journal.append(self._pending)
        self.counts["written"] += len(self._pending)
        self.counts["shards"] += 1
        self._writer, self._pending = None, []
        self._number += 1


def fetch(url: str) -> bytes:
    """A local run downloads URLs itself (the caller's own machine and choice)."""
    import httpx

    limit = DEFAULT_LIMITS.max_bytes
    try:
        with httpx.stream("GET", url, timeout=30, follow_redirects=True) as response:
            response.raise_for_status()
            chunks, received = [], 0
            for chunk in response.iter_bytes():
                received += len(chunk)
                if received > limit:
                    raise UsageError(f"{url} is over {limit} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError as error:
        raise UsageError(f"could not download {url}: {error}") from None
