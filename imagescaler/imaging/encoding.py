"""Output formats, in one table (name, media type, file extension), and encoding to them."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image


@dataclass(frozen=True)
class OutputFormat:
    name: str  # as Pillow names it: JPEG, PNG, WEBP
    media_type: str
    extension: str  # without the dot, as WebDataset keys it


OUTPUT_FORMATS = {
    f.name: f
    for f in (
        OutputFormat("JPEG", "image/jpeg", "jpg"),
        OutputFormat("PNG", "image/png", "png"),
        OutputFormat("WEBP", "image/webp", "webp"),
    )
}
NPY = OutputFormat("NPY", "application/x-npy", "npy")
BY_MEDIA_TYPE = {f.media_type: f for f in (*OUTPUT_FORMATS.values(), NPY)}


def encode(image: Image.Image, output_format: str, quality: int) -> bytes:
    """Encode without metadata: no EXIF, no ICC profile (pixels are sRGB by now)."""
    image.info = {}
    buffer = io.BytesIO()
    if output_format == "JPEG":
        image.save(buffer, "JPEG", quality=quality)
    elif output_format == "WEBP":
        image.save(buffer, "WEBP", quality=quality)
    else:
        image.save(buffer, "PNG", compress_level=3)
    return buffer.getvalue()
