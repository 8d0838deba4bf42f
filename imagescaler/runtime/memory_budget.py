"""A per-process budget of decode memory: each job reserves its estimate before decoding.

Jobs whose estimate does not fit wait (in their worker) until enough is released; one that
could never fit is refused at once. Large releases hand freed memory back to the OS, so a
pod's resident memory returns near idle after a burst of big images.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from imagescaler.runtime.errors import ImageTooLarge, Overloaded
from imagescaler.runtime.memory_tuning import return_free_memory

MiB = 1024 * 1024
# What the process needs beside decodes: interpreter, libraries, gRPC buffers, requests.
PROCESS_BASELINE_BYTES = 192 * MiB
UNKNOWN_LIMIT_BUDGET = 2048 * MiB
# Freed blocks at least this large are returned to the OS when their job ends.
RETURN_AFTER_BYTES = 32 * MiB
_CGROUP_LIMIT_FILES = (
    Path("/sys/fs/cgroup/memory.max"),  # cgroup v2
    Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),  # cgroup v1
)


class MemoryBudget:
    """At most `total` bytes of estimated decode memory in flight at once."""

    def __init__(self, total: int, wait_seconds: float = 10.0) -> None:
        self.total = total
        self._wait_seconds = wait_seconds
        self._in_use = 0
        self._changed = threading.Condition()

    @property
    def in_use(self) -> int:
        return self._in_use

    @contextmanager
    def reserve(self, size: int) -> Iterator[None]:
        """Hold `size` bytes for the body of the with-block; wait while they are short."""
        if size > self.total:
            raise ImageTooLarge(
                f"decoding this image needs about {size / MiB:.0f} MiB, more than the "
                f"{self.total / MiB:.0f} MiB this service may use for one image"
            )
        with self._changed:
            if not self._changed.wait_for(
                lambda: self._in_use + size <= self.total, self._wait_seconds
            ):
                waited = f"{self._wait_seconds:.0f} s"
                raise Overloaded(f"decode memory stayed in use for {waited}; retry shortly")
            self._in_use += size
        try:
            yield
        finally:
            with self._changed:
                self._in_use -= size
                self._changed.notify_all()
            if size >= RETURN_AFTER_BYTES:
                return_free_memory()


def default_budget() -> int:
    """The container's memory limit less the process's baseline, or 2 GiB with no limit."""
    limit = container_memory_limit()
    if limit is None:
        return UNKNOWN_LIMIT_BUDGET
    return max(64 * MiB, limit - PROCESS_BASELINE_BYTES)


def container_memory_limit() -> int | None:
    """The cgroup's memory limit in bytes, None where there is none (or no cgroup)."""
    for path in _CGROUP_LIMIT_FILES:
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 1 << 60:  # v1 writes a huge number for "none"
            return int(text)
        return None
    return None
