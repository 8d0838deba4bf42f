"""An image's bytes, from the request or downloaded from its URL, for every public RPC."""

from __future__ import annotations

import time

from grpc_api.download import Downloader
from imagescaler.runtime.errors import InvalidRequest
from imagescaler.runtime.image_metrics import ImageMetrics


class ImageSources:
    def __init__(self, downloader: Downloader, metrics: ImageMetrics | None = None) -> None:
        self._downloader = downloader
        self._metrics = metrics

    async def obtain(self, content: bytes, url: str) -> bytes:
        """`content` when given, else the body of `url`."""
        if content:
            return content
        url = url.strip()
        if not url:
            raise InvalidRequest("no image: send the image's bytes or a URL to fetch it from")
        started = time.perf_counter()
        data = await self._downloader.fetch(url)
        if self._metrics is not None:
            self._metrics.observe_stages({"download": time.perf_counter() - started})
        return data
