"""s3://bucket/key, as batch and the API's URL source read them."""

from __future__ import annotations

import os
from dataclasses import dataclass

SCHEME = "s3://"


def is_s3(text: str | os.PathLike[str]) -> bool:
    return str(text).startswith(SCHEME)


@dataclass(frozen=True)
class S3Url:
    bucket: str
    key: str  # may be a prefix ending in "/", or empty

    @classmethod
    def parse(cls, url: str) -> S3Url:
        """ValueError when the URL names no bucket."""
        bucket, _, key = url.removeprefix(SCHEME).partition("/")
        if not bucket:
            raise ValueError(f"{url!r} names no bucket: s3://BUCKET/KEY")
        return cls(bucket, key)

    @property
    def path(self) -> str:
        """As s3fs names it: bucket/key."""
        return f"{self.bucket}/{self.key}".rstrip("/")

    def child(self, name: str) -> str:
        return f"{self.path}/{name}"

    def __str__(self) -> str:
        return SCHEME + self.path
