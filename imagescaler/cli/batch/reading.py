"""Sources read ahead of the run: a few threads read and hash the next items while the pixel
work goes on, so that the run's own thread only hands out jobs and writes shards. File reads
and SHA-256 release the GIL."""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from imagescaler.cli.batch.sources import Item
from imagescaler.runtime.errors import ServiceError


@dataclass(frozen=True)
class Read:
    item: Item
    data: bytes = b""
    digest: str = ""  # SHA-256 of the data (of the URL, when the server fetches it)
    error: Exception | None = None


def read_ahead(
    items: Iterable[tuple[int, Item]],
    load: Callable[[Item], bytes],
    *,
    threads: int = 2,
    ahead: int = 16,
) -> Iterator[tuple[int, Read]]:
    """(index, Read) in the items' order, at most `ahead` read before they are asked for.
    `load`'s OSError and ServiceError become the Read's error."""
    with ThreadPoolExecutor(threads, thread_name_prefix="read") as pool:
        window: deque[tuple[int, Future[Read]]] = deque()
        try:
            for index, item in items:
                window.append((index, pool.submit(_read, item, load)))
                if len(window) >= ahead:
                    first, future = window.popleft()
                    yield first, future.result()
            while window:
                first, future = window.popleft()
                yield first, future.result()
        finally:
            for _, future in window:
                future.cancel()


def _read(item: Item, load: Callable[[Item], bytes]) -> Read:
    try:
        data = load(item)
    except (OSError, ServiceError) as error:
        return Read(item, error=error)
    return Read(item, data, hashlib.sha256(data or item.source.encode()).hexdigest())
