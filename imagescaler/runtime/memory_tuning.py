"""glibc malloc tuning for processes that pass large buffers, and giving memory back when idle."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MiB = 1024 * 1024
# Buffers up to this size come from the heap, not from mmap: the ceiling glibc's own moving
# threshold stops at on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX). A photo and its copies then reuse
# pages already mapped; by default each 4 MB message was a fresh mmap, its pages faulted in
# and zeroed, then unmapped, several times a hop.
MMAP_THRESHOLD = 32 * MiB


@dataclass(frozen=True)
class MallocProfile:
    """glibc malloc settings for one kind of process (docs/benchmarks.md, "End-to-end")."""

    arenas: int
    # Free memory a heap keeps at its top between requests; with it, buffers up to
    # MMAP_THRESHOLD come from the heap. None: glibc's own thresholds, which move with use.
    trim_threshold: int | None


# The API and the gateway pass whole messages on their event loop: up to five copies of an
# 8 MB PNG are freed at the end of a request, so the heap keeps 64 MiB at its top (at 32 MiB it
# was handed back and faulted in again every request: the API took 139-141 ms end to end for
# the 8 MP PNG, 128.7 ms with this). One arena, so that TrimWhenIdle (malloc_trim, which
# cannot shrink a thread's heap) gives it all back when idle: with two arenas and this
# threshold the API kept 116 MiB, not 76, after tests/hardening/test_unfinished_messages.py.
FORWARDING = MallocProfile(arenas=1, trim_threshold=64 * MiB)
# The image service decodes on worker threads, two arenas between them. With glibc's default
# (8 arenas per core) its resident memory crept from 177 to 196 MiB over a 5-minute soak of
# 24 MP photos; with 2 it stayed at 145-147 MiB. With one arena it kept 110-129 MiB after an
# upload storm, against 97-110 with two.
PIXEL_WORK = MallocProfile(arenas=2, trim_threshold=32 * MiB)
# `imagescaler batch` holds many replies at once (4.9 MB tensors with yolo-640): with the fixed
# thresholds its --server run grew from 203 to 347 MiB, so it keeps glibc's moving ones.
BATCH = MallocProfile(arenas=2, trim_threshold=None)


def tune_malloc(profile: MallocProfile) -> None:
    """Apply `profile` to glibc's malloc (with a trim threshold, MMAP_THRESHOLD too); call
    before any thread.

    The fixed thresholds took the API's CPU per 12 MP photo from 13.4 to 5-6 ms, and the gRPC API
    at concurrency 1 from 1.48-1.55x the processing time alone to 1.16-1.24x."""
    libc = _glibc()
    if libc is None:
        return  # not glibc (musl has no arenas to limit)
    options = [(M_ARENA_MAX, profile.arenas)]
    if profile.trim_threshold is not None:
        options += [(M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, profile.trim_threshold)]
    for option, value in options:
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

    def __init__(self, delay: float = 0.5, on_trim: Callable[[], object] | None = None) -> None:
        self._delay = delay
        self._on_trim = on_trim
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
            if self._on_trim is not None:
                self._on_trim()


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None
