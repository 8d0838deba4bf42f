"""The malloc profiles take effect: with the services' ones, a large buffer comes from the heap
(its pages reused), not from a fresh mmap."""

from __future__ import annotations

import subprocess
import sys

import pytest

from imagescaler.runtime.memory_tuning import BATCH, FORWARDING, PIXEL_WORK

# Bytes glibc holds in separate mmaps (mallinfo2's hblkhd) while an 8 MiB buffer is alive.
PROBE = """
import ctypes, sys
from imagescaler.runtime import memory_tuning
class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] != "none":
    memory_tuning.tune_malloc(getattr(memory_tuning, sys.argv[1]))
before = libc.mallinfo2().hblkhd
buffer = bytearray(8 << 20)
print(libc.mallinfo2().hblkhd - before)
"""


def mapped_separately(profile: str) -> int:
    # A fresh process: the settings are meant to be applied before anything else runs.
    result = subprocess.run(
        [sys.executable, "-c", PROBE, profile], capture_output=True, text=True, check=True
    )
    return int(result.stdout)


def test_by_default_an_8_mib_buffer_is_a_fresh_mmap() -> None:
    assert mapped_separately("none") >= 8 << 20


@pytest.mark.parametrize("profile", ["FORWARDING", "PIXEL_WORK"])
def test_with_the_services_profiles_it_comes_from_the_heap(profile: str) -> None:
    assert mapped_separately(profile) == 0


def test_batch_keeps_glibcs_own_thresholds() -> None:
    assert mapped_separately("BATCH") >= 8 << 20


def test_the_profiles_differ_where_the_measurements_said() -> None:
    assert (FORWARDING.arenas, FORWARDING.trim_threshold) == (1, 64 << 20)
    assert (PIXEL_WORK.arenas, PIXEL_WORK.trim_threshold) == (2, 32 << 20)
    assert BATCH.trim_threshold is None
