"""What an image's header says, without decoding a pixel: for /v1/inspect and Inspect."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from PIL import Image

from imagescaler.imaging.formats import (
    DEFAULT_LIMITS,
    Limits,
    check_byte_size,
    check_jxl,
    jxl_image_header,
    open_image,
)
from imagescaler.imaging.inputs import ImageSource, image_bytes
from imagescaler.imaging.jxl_header import is_jxl
from imagescaler.imaging.structure import gif_frames

_BITS_BY_MODE = {"1": 1, "I;16": 16, "I;16B": 16, "I;16L": 16, "I": 32, "F": 32}


@dataclass(frozen=True)
class ImageFacts:
    format: str
    stored_size: tuple[int, int]
    upright_size: tuple[int, int]
    orientation: int
    mode: str
    bit_depth: int  # per channel, as stored
    frames: int
    icc_profile: bool
    bytes: int

    def as_dict(self) -> dict[str, Any]:
        facts = asdict(self)
        facts["stored_size"], facts["upright_size"] = (
            list(self.stored_size),
            list(self.upright_size),
        )
        return facts


def inspect_image(source: ImageSource, limits: Limits = DEFAULT_LIMITS) -> ImageFacts:
    """The header's facts, no pixel decoded; the same checks (format, bytes, pixels) as any
    request. `source`: bytes, a path or a binary file object."""
    data = image_bytes(source, "inspect_image")
    if is_jxl(data):  # its plugin decodes on open: the codestream's header alone
        check_byte_size(len(data), limits.max_bytes)
        jxl = check_jxl(data, limits)
        header = jxl_image_header(jxl)
        return ImageFacts("JXL", (jxl.width, jxl.height), header.upright_size, jxl.orientation,
                          jxl.mode, jxl.bits, 1, jxl.icc, len(data))  # fmt: skip
    image, header = open_image(data, limits)
    with image:
        return ImageFacts(
            format=header.format,
            stored_size=(header.stored_width, header.stored_height),
            upright_size=header.upright_size,
            orientation=header.orientation,
            mode=image.mode,
            bit_depth=_bit_depth(image, data),
            frames=_frames(image, data, limits),
            icc_profile=bool(image.info.get("icc_profile")),
            bytes=len(data),
        )


def _frames(image: Image.Image, data: bytes, limits: Limits) -> int:
    if image.format == "GIF":
        return gif_frames(data, limits.structure)  # Pillow's n_frames walks them in Python
    return int(getattr(image, "n_frames", 1))


def _bit_depth(image: Image.Image, data: bytes) -> int:
    if image.format == "PNG" and len(data) > 24:
        return data[24]  # IHDR: Pillow opens 16-bit colour PNGs as 8-bit modes
    bits = getattr(image, "bits", None)  # JPEG's sample precision
    return int(bits) if isinstance(bits, int) else _BITS_BY_MODE.get(image.mode, 8)
