"""Where a run's shards, journal, index and errors go: a local folder, or an s3:// prefix.

Both keep the bulk issue's promise: a shard is visible under its final name only when it is
complete, and its samples are journalled only after that. A folder gets it from rename. S3
has no rename: a shard is assembled in a local staging folder and uploaded; the object
appears under its key only when the upload completes (a single PUT, or multipart upload's
CompleteMultipartUpload), so a run killed mid-upload leaves nothing under the key, and the
next run aborts the upload's leftovers. The journal in S3 is a series of objects
(progress/NNNNNNNN.jsonl), each a whole PUT, written after the shard it records."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from imagescaler.cli.batch.journal import JOURNAL, FileLines, JournalLines, shard_records
from imagescaler.cli.batch.object_storage import S3Url, filesystem, storage_errors, upload
from imagescaler.cli.batch.sources import UsageError
from imagescaler.shards.layout import SHARD_NAME, SampleRecord
from imagescaler.shards.writer import complete_shards

if TYPE_CHECKING:
    from s3fs import S3FileSystem

LOCK = ".lock"
SEGMENTS = "progress"  # the journal's objects in S3: progress/00000001.jsonl, ...


class Output(Protocol):
    where: str  # the folder or the s3:// prefix, for messages
    staging: Path  # where shards are assembled and the side files written
    # Failures journalled with the next shard, not one write each (a PUT per failure would
    # cost more than the failures); a crash before then only means they are tried again.
    batches_failures: bool

    def exclusive(self) -> AbstractContextManager[None]: ...
    def journal_lines(self) -> JournalLines: ...
    def complete_shards(self) -> list[str]: ...
    def shard_records(self, name: str) -> list[SampleRecord]: ...
    def publish_shard(self, name: str) -> None: ...
    def publish(self, name: str) -> None: ...


class FolderOutput:
    """A local folder: shards are renamed into place in it, the journal appended to."""

    batches_failures = False

    def __init__(self, folder: Path) -> None:
        self.staging = writable_folder(folder)
        self.where = str(folder)

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with locked(self.staging, self.where):
            yield

    def journal_lines(self) -> JournalLines:
        return FileLines(self.staging)

    def complete_shards(self) -> list[str]:
        return [path.name for path in complete_shards(self.staging)]

    def shard_records(self, name: str) -> list[SampleRecord]:
        return shard_records(self.staging / name, name)

    def publish_shard(self, name: str) -> None:
        """Renamed into place already."""

    def publish(self, name: str) -> None:
        """Written in place already."""


class BucketOutput:
    """An s3:// prefix, with shards assembled in a local staging folder first."""

    batches_failures = True

    def __init__(self, url: str, endpoint: str | None, staging: Path | None = None) -> None:
        try:
            self.url = S3Url.parse(url)
            self.fs: S3FileSystem = filesystem(endpoint)
        except (ValueError, ImportError) as error:
            raise UsageError(str(error)) from None
        self.where = str(self.url)
        self.staging = writable_folder(staging or default_staging(self.where))

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """One run per prefix on this machine (a lock under the user's cache, whatever
        --staging says). Two machines writing one prefix would take each other's shard
        numbers: give each its own."""
        with locked(writable_folder(default_staging(self.where)), self.where):
            with storage_errors():
                self._abort_unfinished_uploads()
            yield

    def journal_lines(self) -> JournalLines:
        return SegmentLines(self.fs, self.url)

    def complete_shards(self) -> list[str]:
        for leftover in self.staging.glob("shard-*.tar*"):
            leftover.unlink()  # assembled here by a run that stopped before uploading them
        try:
            with storage_errors():
                paths = self.fs.ls(self.url.path, detail=False, refresh=True)
        except FileNotFoundError:
            return []
        names = [path.rsplit("/", 1)[-1] for path in paths]
        return sorted(name for name in names if SHARD_NAME.match(name))

    def shard_records(self, name: str) -> list[SampleRecord]:
        with storage_errors(), self.fs.open(self.url.child(name), "rb") as stream:
            return shard_records(stream, name)

    def publish_shard(self, name: str) -> None:
        """Upload the complete shard; it appears under its key only once whole."""
        local = self.staging / name
        upload(self.fs, str(local), f"s3://{self.url.child(name)}")
        local.unlink()

    def publish(self, name: str) -> None:
        upload(self.fs, str(self.staging / name), f"s3://{self.url.child(name)}")

    def _abort_unfinished_uploads(self) -> None:
        """Multipart uploads a killed run left under this prefix: invisible, but stored (and
        billed). Listed by prefix, page by page; one already gone is no matter."""
        prefix = self.url.key.rstrip("/") + "/" if self.url.key.strip("/") else ""
        marker: dict[str, str] = {}
        while True:
            try:
                page = self.fs.call_s3(
                    "list_multipart_uploads", Bucket=self.url.bucket, Prefix=prefix, **marker
                )
            except OSError:
                return  # not allowed to list them: a lifecycle rule can clean them up instead
            for unfinished in page.get("Uploads", []):
                with contextlib.suppress(OSError):
                    self.fs.call_s3(
                        "abort_multipart_upload",
                        Bucket=self.url.bucket,
                        Key=unfinished["Key"],
                        UploadId=unfinished["UploadId"],
                    )
            if not page.get("IsTruncated"):
                return
            marker = {
                "KeyMarker": page.get("NextKeyMarker", ""),
                "UploadIdMarker": page.get("NextUploadIdMarker", ""),
            }


class SegmentLines:
    """The journal as objects: each append is one PUT of a new progress/NNNNNNNN.jsonl,
    which is whole or absent; reading takes them in order."""

    whole_appends = True  # an append is all there or not at all: no line is ever cut

    def __init__(self, fs: S3FileSystem, url: S3Url) -> None:
        self.fs = fs
        self.folder = url.child(SEGMENTS)
        self.where = f"s3://{self.folder}/"
        self._next: int | None = None

    def _segments(self) -> list[str]:
        try:
            with storage_errors():
                paths = self.fs.ls(self.folder, detail=False, refresh=True)
        except FileNotFoundError:
            return []
        return sorted(path for path in paths if path.endswith(".jsonl"))

    def read(self) -> bytes:
        segments = self._segments()
        self._next = _segment_number(segments[-1]) + 1 if segments else 1
        with storage_errors():
            found = self.fs.cat(segments) if segments else {}  # fetched concurrently
        return b"".join(found[path] for path in segments)

    def append(self, text: str) -> None:
        if self._next is None:
            self.read()
        assert self._next is not None
        with storage_errors():
            self.fs.pipe_file(f"{self.folder}/{self._next:08d}.jsonl", text.encode())
        self._next += 1


def _segment_number(path: str) -> int:
    return int(path.rsplit("/", 1)[-1].removesuffix(".jsonl"))


def output_for(out: str, endpoint: str | None, staging: Path | None) -> FolderOutput | BucketOutput:
    if out.startswith("s3://"):
        return BucketOutput(out, endpoint, staging)
    if staging is not None:
        raise UsageError("--staging is for an s3:// --out: a folder is its own staging")
    return FolderOutput(Path(out))


def default_staging(where: str) -> Path:
    """A folder per output under the user's cache: the same one for every run to it."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "imagescaler" / "batch" / hashlib.sha256(where.encode()).hexdigest()[:16]


def writable_folder(folder: Path) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise UsageError(f"cannot write to {folder}: {error.strerror or error}") from None
    return folder


@contextmanager
def locked(folder: Path, where: str) -> Iterator[None]:
    """One run at a time per output: a second would remove the first's open shard and take
    its shard numbers. The lock (flock on .lock) goes with the process, however it ends."""
    with (folder / LOCK).open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"another imagescaler batch is writing to {where}") from None
        yield


__all__ = ["JOURNAL", "BucketOutput", "FolderOutput", "Output", "output_for"]
