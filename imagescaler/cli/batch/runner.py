"""One run: jobs for what is not done yet, samples into shards, fates into the journal.

The order of writes is what keeps a run safe to stop at any moment: a sample is journalled
as written only once its shard is complete under its final name; a stop request lets the
images in flight finish and completes the open shard; anything else that ends the run (a
second signal, a full disk, a crash) drops the open shard, whose samples were never
journalled and are simply made again by the next run."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from imagescaler.cli.batch.engines import Job, Outcome
from imagescaler.cli.batch.journal import Entry, Journal
from imagescaler.cli.batch.object_storage import filesystem, read_object
from imagescaler.cli.batch.outputs import FolderOutput
from imagescaler.cli.batch.progress import Progress
from imagescaler.cli.batch.reading import read_ahead
from imagescaler.cli.batch.sources import Item
from imagescaler.cli.batch.stopping import StopRequests
from imagescaler.imaging.formats import DEFAULT_LIMITS
from imagescaler.runtime.errors import ImageTooLarge, ServiceError
from imagescaler.shards.layout import SampleRecord
from imagescaler.shards.writer import CLOSING_BYTES, Sample, ShardWriter

if TYPE_CHECKING:
    from imagescaler.cli.batch.command import Plan


class OutputError(Exception):
    """Writing the output failed (a full disk, a folder gone): one line, exit status 1."""


@dataclass(frozen=True)
class Pending:
    digest: str
    size: int


class BatchRun:
    def __init__(
        self,
        plan: Plan,
        journal: Journal,
        previous: dict[str, Entry],
        first_shard: int,
        stop: StopRequests,
    ) -> None:
        self.plan = plan
        self.journal = journal
        self.previous = previous
        self.stop = stop
        self.counts: Counter[str] = Counter()
        self.progress = Progress(len(plan.items))
        self._pending: dict[int, Pending] = {}
        self._number = first_shard
        self._writer: ShardWriter | None = None
        self._written: list[Entry] = []  # in the open shard, journalled when it is complete
        self._failed: list[Entry] = []  # not journalled yet (outputs that batch failures)

    def run(self) -> None:
        """Until every item is done or a stop was requested; raises OutputError when the
        output cannot be written. Whatever ends it, no half shard is left."""
        try:
            for outcome in self.plan.engine.run(self.jobs()):
                self.record(outcome)
            self.close_shard()
            self._journal_failures()
        finally:
            if self._writer is not None:
                self._writer.discard()
            self.progress.close()

    def jobs(self) -> Iterator[Job]:
        """A job for each item not done before, read ahead; none once a stop is asked."""
        for index, read in read_ahead(self._unstopped(), self.read):
            if self.stop.requested:
                return
            item = read.item
            before = self.previous.get(item.key)
            if read.error is not None and before is not None and before.status == "ok":
                # Its sample is in a shard already: a source gone unreadable does not undo it.
                self.counts["skipped"] += 1
                self.progress.advance(self.counts["failed"])
                continue
            if read.error is not None:
                error = read.error
                reason = error.reason if isinstance(error, ServiceError) else "unreadable"
                self.fail(item, "", 0, reason, str(error))
                continue
            unchanged = before and (before.sha256, before.profile) == (
                read.digest,
                self.plan.reference,
            )
            if before and unchanged and before.settled:
                self.counts["skipped" if before.status == "ok" else "failed before"] += 1
                self.progress.advance(self.counts["failed"])
                continue
            self._pending[index] = Pending(read.digest, len(read.data))
            url = item.source if item.is_url and not read.data else ""
            yield Job(index, read.data, url)

    def _unstopped(self) -> Iterator[tuple[int, Item]]:
        """The items to read: an s3:// object listed with the ETag its settled entry has is
        skipped here, without a GET."""
        for index, item in enumerate(self.plan.items):
            if self.stop.requested:
                return
            before = self.previous.get(item.key)
            if (
                item.etag
                and before is not None
                and before.etag == item.etag
                and before.profile == self.plan.reference
                and before.settled
            ):
                self.counts["skipped" if before.status == "ok" else "failed before"] += 1
                self.progress.advance(self.counts["failed"])
                continue
            yield index, item

    def read(self, item: Item) -> bytes:
        if item.is_object:
            limit = DEFAULT_LIMITS.max_bytes
            if item.size is not None and item.size > limit:  # refused unread
                raise ImageTooLarge(
                    f"{item.source} is {item.size} bytes, over the limit of {limit}"
                )
            return read_object(filesystem(self.plan.s3_endpoint), item.source)
        if not item.is_url:
            return Path(item.source).read_bytes()
        return self.plan.fetcher.fetch(item.source) if self.plan.fetcher else b""

    def record(self, outcome: Outcome) -> None:
        item = self.plan.items[outcome.index]
        pending = self._pending.pop(outcome.index)
        if not outcome.ok:
            self.fail(item, pending.digest, pending.size, outcome.reason, outcome.message)
            return
        assert outcome.geometry is not None
        record = SampleRecord(
            item.key, outcome.profile, outcome.geometry, item.source, pending.digest,
            pending.size, outcome.output, item.label, outcome.tensor,
        )  # fmt: skip
        sample = Sample(item.key, outcome.extension, outcome.data, record.to_json())
        self.add(sample, record, item)
        self.progress.advance(self.counts["failed"])

    def add(self, sample: Sample, record: SampleRecord, item: Item) -> None:
        """Into the open shard; a shard closes at whichever limit comes first, and never
        grows past the byte limit unless one sample alone is larger."""
        limits = self.plan.shard_limits
        writer = self._writer
        if writer is not None and writer.bytes + sample.size + CLOSING_BYTES > limits.bytes:
            self.close_shard()
        try:
            if self._writer is None:
                self._writer = ShardWriter(self.plan.output.staging, self._number)
            self._writer.add(sample)
        except OSError as error:
            raise OutputError(self._cannot_write(error)) from None
        self._written.append(replace(Entry.written(record, self._writer.name), etag=item.etag))
        if (
            self._writer.samples >= limits.samples
            or self._writer.bytes + CLOSING_BYTES >= limits.bytes
        ):
            self.close_shard()

    def fail(self, item: Item, digest: str, size: int, reason: str, message: str) -> None:
        entry = Entry(item.key, item.source, digest, self.plan.reference, "failed")
        entry = replace(
            entry, source_bytes=size, label=item.label, reason=reason, message=message,
            etag=item.etag,
        )  # fmt: skip
        self._failed.append(entry)
        if not self.plan.output.batches_failures:
            self._journal_failures()
        self.counts["failed"] += 1
        self.progress.advance(self.counts["failed"])

    def close_shard(self) -> None:
        """Rename the shard into place, then journal its samples: never the other way."""
        if self._writer is None:
            return
        try:
            self._writer.close()
            self.plan.output.publish_shard(self._writer.name)
        except OSError as error:
            # In a folder, a renamed shard is in place; in a bucket, only an uploaded one.
            kept = self._writer.renamed and isinstance(self.plan.output, FolderOutput)
            raise OutputError(self._cannot_write(error, shard_kept=kept)) from None
        self._writer = None
        try:
            self.journal.append(self._written + self._failed)
            self._failed = []
        except OSError as error:  # the shard is whole: the next run journals it from itself
            raise OutputError(self._cannot_write(error, shard_kept=True)) from None
        self.counts["written"] += len(self._written)
        self.counts["shards"] += 1
        self._written = []
        self._number += 1

    def _journal_failures(self) -> None:
        try:
            self.journal.append(self._failed)
        except OSError as error:
            raise OutputError(self._cannot_write(error)) from None
        self._failed = []

    def _cannot_write(self, error: OSError, *, shard_kept: bool = False) -> str:
        fate = (
            "The last shard is complete and the next run records it"
            if shard_kept
            else "The open shard was dropped"
        )
        return (
            f"cannot write to {self.plan.output.where}: {error.strerror or error}. {fate}; every "
            "finished shard is kept, and a rerun resumes from them"
        )
