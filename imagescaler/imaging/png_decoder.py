"""PNG decoding through libvips (its PNG loader, from pyvips' binary wheel): strict, and shrunk
on load by a whole factor where the plan allows it.

On the 8 MP benchmark PNG, libvips decodes in 104-107 ms where Pillow takes 260 ms; with the
shrink on load, our whole job takes about what pyvips' own thumbnail does (docs/benchmarks.md).
Only the PNGs whose pixels libvips hands back exactly as Pillow would come here: 8 bits per
sample, gray or RGB, no palette and no tRNS colour key. The rest (1-, 2-, 4- and 16-bit,
palette, colour-keyed) stay with Pillow, which maps them as colour.py expects; so do PNGs with
alpha, which cannot be shrunk with a box filter (the colour of transparent pixels would bleed)
and which, decoded whole through libvips, raised the peak of two 50 MP RGBA PNGs from under
800 MiB to 1,033 MiB (tests/hardening/test_memory_budget.py).
"""

from __future__ import annotations

import pyvips
from PIL import Image

from imagescaler.runtime.errors import CorruptImage

# Every image is new: the operation cache would only hold decoded buffers in memory.
pyvips.cache_set_max(0)
# One thread per decode: the image service already runs one job per core.
pyvips.concurrency_set(1)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_IHDR_END = 29  # signature 8, length 4, type 4, width 4, height 4, depth 1, colour type 1, ...
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
    if image.format != "PNG" or "transparency" in image.info:
        return None
    if len(data) < _IHDR_END or not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    bit_depth, colour_type = data[24], data[25]
    mode = _MODE_BY_COLOUR_TYPE.get(colour_type) if bit_depth == 8 else None
    return mode if mode == image.mode else None


def shrink_factor(size: tuple[int, int], min_size: tuple[int, int] | None) -> int:
    """MAX_SHRINK when it keeps `size` at least LANCZOS_GAP times `min_size`, else 1."""
    if min_size is None:
        return 1
    ratio = min(size[0] / max(1, min_size[0]), size[1] / max(1, min_size[1]))
    return MAX_SHRINK if ratio >= MAX_SHRINK * LANCZOS_GAP else 1


def decode_png(data: bytes, mode: str, min_size: tuple[int, int] | None = None) -> Image.Image:
    """Decode `data` (a PNG that libvips_mode accepted as `mode`), box-shrunk by
    shrink_factor.

    Strict: a truncated file or a damaged chunk is an error, as with Pillow, never a partly
    grey image. The decode streams row by row into the shrink, so a shrunk decode never holds
    the full-size image."""
    try:
        source = pyvips.Image.pngload_buffer(data, access="sequential", fail_on="warning")
        factor = shrink_factor((source.width, source.height), min_size)
        if factor > 1:
            source = source.shrink(factor, factor)
        pixels = source.write_to_memory()
    except pyvips.Error as error:
        detail = " ".join(str(error.detail or error.message).split())
        raise CorruptImage(f"the PNG data is damaged or truncated ({detail})") from None
    return Image.frombuffer(mode, (source.width, source.height), pixels, "raw", mode, 0, 1)
