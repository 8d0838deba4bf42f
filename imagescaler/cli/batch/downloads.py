"""URLs of a manifest, fetched by a local run under the API's own URL policy and defaults: public
addresses only (unless the caller allows private ones), the byte cap, a total deadline, and
every redirect checked again."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from grpc_api.download import Downloader
from grpc_api.settings import ApiSettings
from grpc_api.url_policy import AddressPolicy, check_url

T = TypeVar("T")


class UrlFetcher:
    """A Downloader on an event loop of its own thread, called from the run's thread."""

    def __init__(self, allow_private: bool) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        policy = AddressPolicy.from_settings(allow_private, [])
        self._downloader = self._call(self._make(policy))

    async def _make(self, policy: AddressPolicy) -> Downloader:
        defaults = {name: field.default for name, field in ApiSettings.model_fields.items()}
        return Downloader(
            max_bytes=defaults["max_image_bytes"],
            total_timeout=defaults["download_timeout"],
            connect_timeout=defaults["connect_timeout"],
            max_redirects=defaults["max_redirects"],
            policy=policy,
        )

    def fetch(self, url: str) -> bytes:
        """The body, or the ServiceError (DownloadFailed, SourceRefused, ...) saying why not."""
        return self._call(self._downloader.fetch(check_url(url).url))

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def __enter__(self) -> UrlFetcher:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._call(self._downloader.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
