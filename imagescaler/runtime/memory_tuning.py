"""glibc malloc tuning for threaded image work."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import sys

logger = logging.getLogger(__name__)
M_ARENA_MAX = -8
MALLOC_ARENAS = 2


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> None:
    """Cap glibc's per-thread malloc arenas; call before any thread starts.

    With the default (8 per core) the image service's resident memory crept from 177 to
    196 MiB over a 5-minute soak of 24 MP photos; with 2 arenas it stayed at 145-147 MiB
    (docs/benchmarks.md). The same as MALLOC_ARENA_MAX=2 in the environment."""
    libc = _glibc()
    if libc is None:
        return  # not glibc (musl has no arenas to limit)
    if libc.mallopt(M_ARENA_MAX, arenas) != 1:
        logger.warning("could not limit malloc arenas to %d", arenas)


def return_free_memory() -> None:
    """Give freed heap memory back to the OS (glibc's malloc_trim); a no-op elsewhere."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


class TrimWhenIdle:
    """Hands freed memory back to the OS once a service has had nothing in flight for a
    moment: after a burst of large messages, glibc otherwise keeps the freed heap, and a pod's
    resident memory stays at its peak (the API held 162 MiB after unfinished messages were
    dropped, against 80 MiB idle).

    The trim runs on the event loop, with nothing in flight: 7-15 ms after 250 MB of large
    buffers were freed. Run from an executor thread instead, it left about 30 MiB resident in
    half the runs of tests/hardening/test_memory_budget.py (a new thread's own arena)."""

    def __init__(self, delay: float = 0.5) -> None:
        self._delay = delay
        self._pending: asyncio.TimerHandle | None = None
        self._in_flight = 0

    def begin(self) -> None:
        self._in_flight += 1

    def end(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0 and self._pending is None:
            self._pending = asyncio.get_running_loop().call_later(self._delay, self._trim)

    def _trim(self) -> None:
        self._pending = None
        if self._in_flight == 0:
            return_free_memory()


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None
