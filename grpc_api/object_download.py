"""s3://bucket/key as an image's URL: fetched with the server's own credentials, only from
the buckets on --s3-allowed-buckets (none by default, so refused), within the same limits as
HTTP downloads (bytes, total deadline).

aiobotocore (what s3fs runs on; the `s3` extra) makes the calls on the API's event loop; its
client takes the usual AWS credentials (a pod's environment from a Secret, or its role) and
retries throttling and 5xx answers itself."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

from imagescaler.runtime.errors import DownloadFailed, ImageTooLarge, SourceRefused
from imagescaler.runtime.s3_urls import S3Url

MAX_ATTEMPTS = 5
MISSING = {"NoSuchKey", "NoSuchBucket", "404", "NotFound"}


class ObjectFetcher:
    def __init__(
        self,
        allowed_buckets: list[str],
        max_bytes: int,
        total_timeout: float,
        endpoint: str | None = None,
    ) -> None:
        self.allowed = frozenset(allowed_buckets)
        self._max_bytes = max_bytes
        self._total_timeout = total_timeout
        self._endpoint = endpoint
        self._exits = AsyncExitStack()
        self._client: Any = None
        self._opening = asyncio.Lock()

    async def fetch(self, url: str) -> bytes:
        """The object's bytes, or SourceRefused / DownloadFailed / ImageTooLarge saying why."""
        try:
            location = S3Url.parse(url)
        except ValueError as error:
            raise SourceRefused(str(error)) from None
        if location.bucket not in self.allowed:
            allowed = ", ".join(sorted(self.allowed)) or "none"
            raise SourceRefused(
                f"s3://{location.bucket} is not a bucket this server reads images from "
                f"(allowed: {allowed})"
            )
        if not location.key or location.key.endswith("/"):
            raise SourceRefused(f"{url} names no object")
        try:
            async with asyncio.timeout(self._total_timeout):
                return await self._get(location, url)
        except TimeoutError:
            raise DownloadFailed(
                f"downloading {url} took longer than the limit of {self._total_timeout:g} s"
            ) from None

    async def close(self) -> None:
        await self._exits.aclose()

    async def _get(self, location: S3Url, url: str) -> bytes:
        from aiohttp import ClientError as ConnectionProblem
        from botocore.exceptions import BotoCoreError, ClientError

        client = await self._connected()
        try:
            answer = await client.get_object(Bucket=location.bucket, Key=location.key)
            size = int(answer.get("ContentLength") or 0)
            if size > self._max_bytes:
                answer["Body"].close()
                raise ImageTooLarge(f"{url} is {size} bytes, over the limit of {self._max_bytes}")
            data = await self._read_capped(answer["Body"])
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            what = "does not exist" if code in MISSING else f"was refused ({code or error})"
            raise DownloadFailed(f"could not download {url}: it {what}") from None
        except (BotoCoreError, ConnectionProblem, OSError) as error:
            raise DownloadFailed(f"could not download {url}: {error}") from None
        if len(data) > self._max_bytes:
            raise ImageTooLarge(f"{url} sent more than the limit of {self._max_bytes} bytes")
        return data

    async def _read_capped(self, body: Any) -> bytes:
        """The body to its end, or until it passes the limit (a read returns what has come)."""
        chunks: list[bytes] = []
        received = 0
        async with body:
            while received <= self._max_bytes and (chunk := await body.read(1 << 20)):
                chunks.append(chunk)
                received += len(chunk)
        return b"".join(chunks)

    async def _connected(self) -> Any:
        async with self._opening:
            if self._client is None:
                try:
                    from aiobotocore.config import AioConfig
                    from aiobotocore.session import get_session
                except ImportError:
                    raise SourceRefused(
                        "s3:// sources need the s3 extra on the server: pip install "
                        "'imagescaler[s3]'"
                    ) from None
                config = AioConfig(retries={"max_attempts": MAX_ATTEMPTS, "mode": "adaptive"})
                session = get_session()
                region = session.get_config_variable("region") or "us-east-1"
                creating = session.create_client(
                    "s3", endpoint_url=self._endpoint, region_name=region, config=config
                )
                self._client = await self._exits.enter_async_context(creating)
        return self._client
