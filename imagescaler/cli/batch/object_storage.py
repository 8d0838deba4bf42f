"""S3 and its compatibles, through fsspec's s3fs: the same URLs, credentials and
`storage_options` as Hugging Face `datasets`, pandas, pyarrow and Ray Data, so a team's S3
set-up works unchanged and what batch writes is read by the same tools.

Credentials, region and endpoint come from the usual AWS places (environment, ~/.aws/config
and credentials, instance and pod roles; AWS_ENDPOINT_URL for compatible stores), or
`--s3-endpoint`. Throttling (503 SlowDown), 5xx answers and dropped connections are retried
by botocore with backoff (adaptive mode, MAX_ATTEMPTS attempts)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from imagescaler.runtime.s3_urls import SCHEME, S3Url, is_s3

if TYPE_CHECKING:
    from s3fs import S3FileSystem

MAX_ATTEMPTS = 10
# Parts of a multipart upload (a file larger than one part is uploaded in parts; the object
# appears under its key only when all are in). S3 takes parts of 5 MiB to 5 GiB.
MIN_PART_BYTES = 5 * 1024 * 1024
PART_BYTES = max(MIN_PART_BYTES, int(os.environ.get("IMAGESCALER_S3_PART_BYTES") or 64 << 20))


@dataclass(frozen=True)
class Listed:
    url: str  # s3://bucket/key
    relative: str  # the key under the listed prefix
    etag: str  # identifies the content (with multipart uploads, not its MD5)
    size: int


def filesystem(endpoint: str | None = None) -> S3FileSystem:
    """An S3 filesystem; one per endpoint and process (s3fs keeps a connection pool)."""
    return _filesystem(endpoint or os.environ.get("AWS_ENDPOINT_URL_S3") or None)


@cache
def _filesystem(endpoint: str | None) -> S3FileSystem:
    try:
        from s3fs import S3FileSystem
    except ImportError:
        raise ImportError("s3:// needs s3fs: pip install 'imagescaler[s3]'") from None
    config: dict[str, Any] = {"retries": {"max_attempts": MAX_ATTEMPTS, "mode": "adaptive"}}
    return S3FileSystem(
        endpoint_url=endpoint,
        config_kwargs=config,
        default_block_size=PART_BYTES,
        skip_instance_cache=True,
    )


@contextmanager
def storage_errors() -> Iterator[None]:
    """botocore's and aiohttp's own errors as OSError: s3fs passes on those without an HTTP
    answer (no credentials, an endpoint not reached, a connection dropped once the retries
    are spent), and everything here treats OSError as a failure it can describe."""
    from aiohttp import ClientError
    from botocore.exceptions import BotoCoreError

    try:
        yield
    except (BotoCoreError, ClientError) as error:
        raise OSError(f"{type(error).__name__}: {error}") from None


def list_objects(fs: S3FileSystem, url: str) -> list[Listed]:
    """Every object under a prefix, recursively, in key order."""
    prefix = S3Url.parse(url if url.endswith("/") else url + "/")
    with storage_errors():
        found = fs.find(prefix.path, detail=True)
    listed = []
    for path, info in sorted(found.items()):
        if info.get("type") != "file":
            continue
        relative = path[len(prefix.path) + 1 :]
        etag = str(info.get("ETag") or "").strip('"')
        listed.append(Listed(SCHEME + path, relative, etag, int(info.get("size") or 0)))
    return listed


def upload(fs: S3FileSystem, local: str, url: str) -> None:
    """A local file to an object: one PUT, or a multipart upload of PART_BYTES parts whose
    completion is the step that makes the object appear."""
    with storage_errors():
        fs.put_file(local, S3Url.parse(url).path, chunksize=PART_BYTES)


def read_object(fs: S3FileSystem, url: str) -> bytes:
    """The object's bytes; FileNotFoundError when it is missing, OSError on other failures
    once the retries are spent."""
    with storage_errors():
        data: bytes = fs.cat_file(S3Url.parse(url).path)
    return data


__all__ = [
    "SCHEME",
    "Listed",
    "S3Url",
    "filesystem",
    "is_s3",
    "list_objects",
    "read_object",
    "upload",
]
