"""An image's bytes, from the request or downloaded from its URL, for every public RPC."""

from __future__ import annotations

import time

from grpc_api.download import Downloader
from grpc_api.object_download import ObjectFetcher
from imagescaler.runtime.errors import InvalidRequest, SourceRefused
from imagescaler.runtime.image_metrics import ImageMetrics
from imagescaler.runtime.s3_urls import is_s3


class ImageSources:
    def __init__(
        self,
        downloader: Downloader,
        objects: ObjectFetcher | None = None,
        metrics: ImageMetrics | None = None,
    ) -> None:
        self._downloader = downloader
        self._objects = objects
        self._metrics = metrics

    async def obtain(self, content: bytes, url: str) -> bytes:
        """`content` when given, else the body of `url` (http(s):// or s3://)."""
        if content:
            return content
        url = url.strip()
        if not url:
            raise InvalidRequest("no image: send the image's bytes or a URL to fetch it from")
        started = time.perf_counter()
        if is_s3(url):
            if self._objects is None:
                raise SourceRefused("s3:// URLs are not fetched by this server")
            data = await self._objects.fetch(url)
        else:
            data = await self._downloader.fetch(url)
        if self._metrics is not None:
            self._metrics.observe_stages({"download": time.perf_counter() - started})
        return data
