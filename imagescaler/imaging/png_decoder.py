"""PNG decoding through libvips (its PNG loader, from pyvips' binary wheel): as strict as
Pillow, and shrunk on load by a whole factor where the plan allows it.

On the 8 MP benchmark PNG, libvips decodes in 104-107 ms where Pillow takes 260 ms; with the
shrink on load, our whole job takes about what pyvips' own thumbnail does (docs/benchmarks.md).
Only the PNGs whose pixels libvips hands back exactly as Pillow would come here: 8 bits per
sample, gray or RGB, no palette and no tRNS colour key. The rest (1-, 2-, 4- and 16-bit,
palette, colour-keyed) stay with Pillow, which maps them as colour.py expects; so do PNGs with
alpha, which cannot be shrunk with a box filter (the colour of transparent pixels would bleed)
and which, decoded whole through libvips, raised the peak of two 50 MP RGBA PNGs from under
800 MiB to 1,033 MiB (tests/hardening/test_memory_budget.py); and interlaced PNGs, which
libvips reads whole before it can shrink them (a halved 24 MP one peaked at 125 MiB, not 54).

Pillow also decodes every PNG where libvips cannot be loaded, and in a process forked after
this module was imported: libvips' thread pool does not survive a fork, and a child's decode
would hang (fork-based worker pools, such as PyTorch's DataLoader on Linux, fork).
"""

from __future__ import annotations

import logging
import os
from types import ModuleType

from PIL import Image

from imagescaler.runtime.errors import CorruptImage

logger = logging.getLogger(__name__)


def _load_libvips() -> ModuleType | None:
    try:
        import pyvips
    except (ImportError, OSError) as error:
        logger.warning("libvips could not be loaded (%s); PNGs are decoded by Pillow", error)
        return None
    # Every image is new: the operation cache would only hold decoded buffers in memory.
    pyvips.cache_set_max(0)
    # One thread per decode: the image service already runs one job per core.
    pyvips.concurrency_set(1)
    module: ModuleType = pyvips
    return module


pyvips = _load_libvips()
_LOADED_IN = os.getpid()

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Signature 8, chunk length 4, type 4, then width 4, height 4, bit depth, colour type,
# compression, filter and interlace method, a byte each.
_BIT_DEPTH, _COLOUR_TYPE, _INTERLACE, _IHDR_END = 24, 25, 28, 29
_MODE_BY_COLOUR_TYPE = {0: "L", 2: "RGB"}
# The box shrink halves the image when at least LANCZOS_GAP of reduction is left for the
# Lanczos pass after it, and never shrinks further. Measured against the quality rule
# (tests/imaging/test_quality.py, 1024x768 from PNGs of 8, 12 and 24 MP): halving passes by
# 0.2-0.8 dB; a box of 3 fails by 0.4-0.8 dB even with 1.7-2x left for Lanczos, a box of 4
# by 0.07 dB.
MAX_SHRINK = 2
LANCZOS_GAP = 1.5


def libvips_mode(data: bytes, image: Image.Image) -> str | None:
    """The mode libvips decodes this PNG to, when it is exactly the mode Pillow would give;
    None when Pillow must decode it."""
    if pyvips is None or os.getpid() != _LOADED_IN:
        return None
    if image.format != "PNG" or "transparency" in image.info:
        return None
    if len(data) < _IHDR_END or not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    if data[_BIT_DEPTH] != 8 or data[_INTERLACE] != 0:
        return None
    mode = _MODE_BY_COLOUR_TYPE.get(data[_COLOUR_TYPE])
    return mode if mode == image.mode else None


def shrink_factor(size: tuple[int, int], min_size: tuple[int, int] | None) -> int:
    """MAX_SHRINK when it keeps `size` at least LANCZOS_GAP times `min_size`, else 1."""
    if min_size is None:
        return 1
    ratio = min(size[0] / max(1, min_size[0]), size[1] / max(1, min_size[1]))
    return MAX_SHRINK if ratio >= MAX_SHRINK * LANCZOS_GAP else 1


def shrunk_size(size: tuple[int, int], min_size: tuple[int, int] | None) -> tuple[int, int]:
    """The size decode_png gives a PNG of `size` (at most a pixel more where libvips rounds)."""
    factor = shrink_factor(size, min_size)
    return -(-size[0] // factor), -(-size[1] // factor)


def decode_png(data: bytes, mode: str, min_size: tuple[int, int] | None = None) -> Image.Image:
    """Decode `data` (a PNG that libvips_mode accepted as `mode`), box-shrunk by
    shrink_factor.

    As strict as Pillow: a truncated file or damaged image data is an error, never a partly
    grey image; a wrong checksum alone is not (Pillow does not check IDAT's). The decode
    streams row by row into the shrink, so a shrunk decode never holds the full-size image."""
    assert pyvips is not None  # libvips_mode said so
    try:
        source = pyvips.Image.pngload_buffer(data, access="sequential", fail_on="truncated")
        factor = shrink_factor((source.width, source.height), min_size)
        if factor > 1:
            source = source.shrink(factor, factor)
        pixels = source.write_to_memory()
    except pyvips.Error as error:
        detail = " ".join(str(error.detail or error.message).split())
        raise CorruptImage(f"the PNG data is damaged or truncated ({detail})") from None
    return Image.frombuffer(mode, (source.width, source.height), pixels, "raw", mode, 0, 1)
