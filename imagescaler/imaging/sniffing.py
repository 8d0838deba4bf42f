"""Recognising bytes without opening them: the allowed formats' signatures, and refusals
that name what was sent (a PDF, an HTML page, a video)."""

from __future__ import annotations

import struct

from PIL import features

# AVIF is Pillow's own (libavif, in Pillow's wheels since 11.2): allowed where it is there.
_AVIF = ("AVIF",) if features.check("avif") else ()
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "HEIF", *_AVIF, "JXL")
# What Pillow may open in this process: JPEG XL is decoded apart, in jxl_decoder's child.

# Leading bytes of formats we refuse, so the refusal can name what was sent.
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"%PDF", "PDF"),
    (0, b"%!PS", "PostScript/EPS"),
    (0, b"\xc5\xd0\xd3\xc6", "EPS"),
    (0, b"8BPS", "Photoshop PSD"),
    (0, b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (0, b"\xff\x4f\xff\x51", "JPEG 2000"),
    (0, b"II*\x00\x10\x00\x00\x00CR", "Canon RAW"),
    (0, b"\x00\x00\x01\x00", "ICO"),
    (0, b"qoif", "QOI"),
)
_ALLOWED_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\xff\x0a", "JXL"),
    (b"\x00\x00\x00\x0cJXL ", "JXL"),
)
# ISO media brands of the formats we open; others (video...) are named when refused.
_ALLOWED_BRANDS = {
    brand: name
    for brand, name in ((b"heic", "HEIF"), (b"heix", "HEIF"), (b"mif1", "HEIF"), (b"avif", "AVIF"))
    if name in ALLOWED_FORMATS
}
_FTYP_BRANDS = {b"avif": "AVIF", b"avis": "AVIF", b"heic": "HEIC", b"heix": "HEIC", b"mif1": "HEIF"}


def describe_unsupported(data: bytes) -> str:
    """A refusal that says what the bytes look like, when we can tell."""
    allowed = ", ".join(ALLOWED_FORMATS)
    text_kind = _sniff_text(data)
    if text_kind is not None:
        return f"the data looks like {text_kind}, not an image; send one of {allowed}"
    name = _sniff_image(data)
    if name is not None:
        return f"{name} is not accepted; send one of {allowed}"
    return f"the data is not an image in a supported format ({allowed})"


def sniff_allowed(data: bytes) -> str | None:
    """An allowed format whose signature these bytes start with, if any."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and data[8:12] in _ALLOWED_BRANDS:
        return _ALLOWED_BRANDS[data[8:12]]
    return next((name for magic, name in _ALLOWED_SIGNATURES if data.startswith(magic)), None)


def _sniff_image(data: bytes) -> str | None:
    for offset, magic, name in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return name
    if data[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(data[8:12], "ISO media (HEIF/AVIF/MP4)")
    head = data[:4096].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head):
        return "SVG"
    return None


def _sniff_text(data: bytes) -> str | None:
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    if (
        _sniff_image(data) is None
        and head
        and all(32 <= byte < 127 or byte in b"\t\r\n" for byte in head[:256])
    ):
        return "plain text"
    return None


def iso_boxes_complete(data: bytes) -> bool:
    """Whether every top-level box of an ISO media file (HEIF, AVIF) ends within the data."""
    offset = 0
    while offset + 8 <= len(data):
        size = struct.unpack_from(">I", data, offset)[0]
        if size == 1:  # a 64-bit size follows the type
            if offset + 16 > len(data):
                return False
            size = struct.unpack_from(">Q", data, offset + 8)[0]
        elif size == 0:  # the box runs to the end of the file
            return True
        if size < 8 or offset + size > len(data):
            return False
        offset += size
    return offset == len(data)
