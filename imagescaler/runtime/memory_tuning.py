"""glibc malloc tuning for threaded image work."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import sys

logger = logging.getLogger(__name__)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MALLOC_ARENAS = 2
# Buffers up to this size come from the heap, not from mmap: glibc's largest allowed value
# on 64-bit. A 4 MB photo and its decode buffers then reuse pages already mapped.
MMAP_THRESHOLD = 32 * 1024 * 1024
# A heap keeps up to this much free memory at its top between requests. TrimWhenIdle gives
# the main heap's back once nothing is in flight; a thread's heap (at most 64 MiB) shrinks
# only when its free top passes this, so a higher value would keep up to 64 MiB per arena
# (the API held 146 MiB, not 82, after tests/hardening/test_unfinished_messages.py at 128 MiB).
TRIM_THRESHOLD = 32 * 1024 * 1024


def tune_malloc(arenas: int = MALLOC_ARENAS) -> None:
    """glibc malloc settings for services that pass large buffers; call before any thread.

    - Arenas capped at `arenas`: with the default (8 per core) the image service's resident
      memory crept from 177 to 196 MiB over a 5-minute soak of 24 MP photos; with 2 arenas
      it stayed at 145-147 MiB (docs/benchmarks.md). The same as MALLOC_ARENA_MAX=2.
    - Large buffers kept mapped (the mmap and trim thresholds above): by default every 4 MB
      message was a fresh mmap, its pages faulted in and zeroed, then unmapped, several
      times per hop. The API spent 13.4 ms of CPU per 12 MP photo, 6.1 ms with these; the
      gRPC API's latency at concurrency 1 went from 1.48-1.55x the processing time alone
      to 1.22-1.26x (docs/benchmarks.md, "End-to-end overhead")."""
    libc = _glibc()
    if libc is None:
        return  # not glibc (musl has no arenas to limit)
    for option, value in (
        (M_ARENA_MAX, arenas),
        (M_MMAP_THRESHOLD, MMAP_THRESHOLD),
        (M_TRIM_THRESHOLD, TRIM_THRESHOLD),
    ):
        if libc.mallopt(option, value) != 1:
            logger.warning("could not set malloc option %d to %d", option, value)


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
