"""JPEG decoding through libjpeg-turbo (simplejpeg): strict, and shrunk by DCT scaling on load."""

from __future__ import annotations

import simplejpeg
from PIL import Image

from imagescaler.runtime.errors import CorruptImage

# Modes whose JPEGs libjpeg-turbo can hand us directly as gray or RGB.
DIRECT_MODES = frozenset({"L", "RGB"})


def decode_jpeg(data: bytes, mode: str, min_size: tuple[int, int] | None = None) -> Image.Image:
    """Decode `data` to mode L or RGB, at the smallest n/8 scale still at least `min_size`.

    Strict: libjpeg warnings such as "premature end of data segment" are errors, so a
    truncated file is refused instead of coming back half grey.
    """
    scale_hint = {} if min_size is None else {"min_width": min_size[0], "min_height": min_size[1]}
    try:
        array = simplejpeg.decode_jpeg(
            data, colorspace="GRAY" if mode == "L" else "RGB", strict=True, **scale_hint
        )
    except (ValueError, RuntimeError) as error:
        raise CorruptImage(f"the JPEG data is damaged: {error}") from None
    if mode == "L":
        array = array.reshape(array.shape[:2])  # a view: (h, w, 1) -> (h, w), no copy
    return Image.fromarray(array, mode)
