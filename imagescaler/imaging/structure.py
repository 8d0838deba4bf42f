"""Cheap scans of an image's container, before any decoder sees it: the counts that bound CPU.

A pixel limit does not bound decode time. A small file can hold thousands of progressive
JPEG scans, millions of TIFF strips or PNG chunks, or run-length codes that Pillow expands
pixel by pixel in Python. Each scan here walks headers only, stops as soon as a count is
over its limit, and raises ImageTooComplex naming the count and the limit.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from imagescaler.runtime.errors import ImageTooComplex

# After a scan's entropy-coded data, the next marker: 0xFF then anything but a stuffed 0x00,
# a restart marker or a fill byte (which cannot occur inside entropy-coded data).
_MARKER_AFTER_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
# Start-of-frame markers of sequential (non-progressive) JPEGs: baseline, extended, lossless.
_SEQUENTIAL_FRAMES = frozenset({0xC0, 0xC1, 0xC3, 0xC5, 0xC7, 0xC9, 0xCB, 0xCD, 0xCF})
_TIFF_STRIP_OR_TILE_OFFSETS = {273: "strips", 324: "tiles"}
_BMP_RLE = {1: "RLE8", 2: "RLE4"}
MAX_TIFF_IFD_ENTRIES = 4096


@dataclass(frozen=True)
class StructureLimits:
    """Counts over which an image is refused before decoding; each costs under 0.5 s at its
    limit on one core (docs/security.md)."""

    max_jpeg_scans: int = 100
    max_tiff_strips: int = 65_536
    max_tiff_pages: int = 256
    max_png_chunks: int = 65_536
    max_frames: int = 1_000
    max_rle_pixels: int = 4_000_000
    max_gif_sub_blocks: int = 500_000  # 25 MiB in 255-byte sub-blocks is 103,000
    # JPEG XL's cost is in its decode tree, not its size: a CPU allowance instead of a count.
    jxl_cpu_base_seconds: float = 2.0
    jxl_cpu_seconds_per_megapixel: float = 0.5

    def jxl_cpu_seconds(self, pixels: int) -> float:
        """The CPU a JPEG XL of `pixels` pixels may take to decode (jxl_decoder.py)."""
        return self.jxl_cpu_base_seconds + self.jxl_cpu_seconds_per_megapixel * pixels / 1e6


def check_structure(data: bytes, limits: StructureLimits) -> None:
    """Raise ImageTooComplex when `data`'s container is over a limit; damaged containers
    pass, for the decoder to refuse with its own message."""
    if data.startswith(b"\xff\xd8"):
        _check_jpeg(data, limits)
    elif data.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        _check_tiff(data, limits)
    elif data.startswith(b"\x89PNG\r\n\x1a\n"):
        _check_png(data, limits)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        _check_webp(data, limits)
    elif data.startswith(b"BM"):
        _check_bmp(data, limits)
    elif data.startswith((b"GIF87a", b"GIF89a")):
        gif_frames(data, limits)


def _refuse(what: str, count: int | str, limit: int) -> ImageTooComplex:
    return ImageTooComplex(f"the image has {count} {what}; the limit is {limit}")


def _check_jpeg(data: bytes, limits: StructureLimits) -> None:
    """Count start-of-scan markers up to the end of the first image (EOI); trailing images
    (MPF depth maps and the like) are never decoded.

    A sequential JPEG whose first scan holds every component has one scan (libjpeg refuses a
    second), so the walk stops there and costs microseconds; progressive ones are walked
    through, 1.3 ms for a 4 MB photo."""
    scans, position, components = 0, 2, 0
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            # Junk between segments: libjpeg skips to the next 0xFF (with a warning), so the
            # walk does too, or scans behind the junk would go uncounted.
            position = data.find(b"\xff", position)
            if position < 0:
                return
            continue
        marker = data[position + 1]
        if marker == 0xFF:  # a fill byte before a marker
            position += 1
            continue
        if marker == 0xD9:
            return
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # standalone markers
            position += 2
            continue
        if marker in _SEQUENTIAL_FRAMES and position + 10 <= len(data):
            components = data[position + 9]
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        if marker == 0xDA:
            scans += 1
            if (
                scans == 1
                and components
                and data[position + 4 : position + 5] == bytes([components])
            ):
                return
            if scans > limits.max_jpeg_scans:
                limit = limits.max_jpeg_scans
                raise _refuse("progressive JPEG scans", f"more than {limit}", limit)
            after = _MARKER_AFTER_SCAN.search(data, position + 2 + length)
            if after is None:
                return
            position = after.start()
            continue
        position += 2 + length


def _check_tiff(data: bytes, limits: StructureLimits) -> None:
    """Count the pages (IFDs) and the first page's strips or tiles from their entry counts."""
    order = "<" if data[:2] == b"II" else ">"
    big = data[2:4] in (b"+\x00", b"\x00+")
    # Classic TIFF: 2-byte entry count, 12-byte entries, 4-byte offsets; BigTIFF: 8, 20, 8.
    count_format, entry_size, offset_format = ("Q", 20, "Q") if big else ("H", 12, "I")
    try:
        ifd = struct.unpack_from(order + offset_format, data, 8 if big else 4)[0]
        pages, seen = 0, set()
        while ifd and ifd not in seen:
            seen.add(ifd)
            pages += 1
            if pages > limits.max_tiff_pages:
                raise _refuse(
                    "TIFF pages", f"more than {limits.max_tiff_pages}", limits.max_tiff_pages
                )
            entries = struct.unpack_from(order + count_format, data, ifd)[0]
            if entries > MAX_TIFF_IFD_ENTRIES:
                # Real pages have tens of tags; a huge directory only hides what follows.
                raise _refuse("entries in a TIFF directory", entries, MAX_TIFF_IFD_ENTRIES)
            first = ifd + struct.calcsize(count_format)
            if pages == 1:
                _check_tiff_strips(
                    data,
                    order=order,
                    first=first,
                    entries=entries,
                    entry_size=entry_size,
                    limits=limits,
                )
            ifd = struct.unpack_from(order + offset_format, data, first + entries * entry_size)[0]
    except struct.error:
        return  # damaged: Pillow says how


def _check_tiff_strips(
    data: bytes, *, order: str, first: int, entries: int, entry_size: int, limits: StructureLimits
) -> None:
    count_format = "Q" if entry_size == 20 else "I"
    for index in range(entries):
        at = first + index * entry_size
        tag = struct.unpack_from(order + "H", data, at)[0]
        if tag in _TIFF_STRIP_OR_TILE_OFFSETS:
            count = struct.unpack_from(order + count_format, data, at + 4)[0]
            if count > limits.max_tiff_strips:
                raise _refuse(
                    f"TIFF {_TIFF_STRIP_OR_TILE_OFFSETS[tag]}", count, limits.max_tiff_strips
                )


def _check_png(data: bytes, limits: StructureLimits) -> None:
    """Count chunks (Pillow reads each in Python) and an APNG's declared frames."""
    position, chunks = 8, 0
    while position + 12 <= len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        chunks += 1
        if chunks > limits.max_png_chunks:
            raise _refuse("PNG chunks", f"more than {limits.max_png_chunks}", limits.max_png_chunks)
        if kind == b"acTL":
            frames = int.from_bytes(data[position + 8 : position + 12], "big")
            if frames > limits.max_frames:
                raise _refuse("animation frames", frames, limits.max_frames)
        if kind == b"IEND":
            return
        position += 12 + length


def _check_webp(data: bytes, limits: StructureLimits) -> None:
    """Count an animated WebP's frames (ANMF chunks); the canvas is checked as pixels."""
    position, frames = 12, 0
    while position + 8 <= len(data):
        kind = data[position : position + 4]
        length = int.from_bytes(data[position + 4 : position + 8], "little")
        if kind == b"ANMF":
            frames += 1
            if frames > limits.max_frames:
                raise _refuse(
                    "animation frames", f"more than {limits.max_frames}", limits.max_frames
                )
        position += 8 + length + (length & 1)


def gif_frames(data: bytes, limits: StructureLimits) -> int:
    """A GIF's frames, counted by walking its blocks (no LZW is decoded; Pillow seeks through
    every frame in Python to count them). ImageTooComplex past the frame limit, or past the
    sub-block limit: encoders write 255-byte sub-blocks, and 16 MB of 1-byte ones cost Pillow
    1.1 s to skip. A cut file counts what is there."""
    position, frames, sub_blocks = 13, 0, 0
    if len(data) >= 13 and data[10] & 0x80:  # a global colour table
        position += 3 << ((data[10] & 7) + 1)
    while position < len(data):
        block = data[position]
        if block == 0x2C:  # an image: its descriptor, local colour table, LZW size, data
            if position + 10 > len(data):
                break
            flags = data[position + 9]
            position += 10 + ((3 << ((flags & 7) + 1)) if flags & 0x80 else 0) + 1
            frames += 1
            if frames > limits.max_frames:
                raise _refuse(
                    "animation frames", f"more than {limits.max_frames}", limits.max_frames
                )
        elif block == 0x21:  # an extension: its label, then sub-blocks
            position += 2
        else:  # the trailer, or bytes no decoder would read
            break
        while position < len(data) and data[position]:
            position += data[position] + 1
            sub_blocks += 1
            if sub_blocks > limits.max_gif_sub_blocks:
                limit = limits.max_gif_sub_blocks
                raise _refuse("GIF data sub-blocks", f"more than {limit}", limit)
        position += 1
    return frames


def _check_bmp(data: bytes, limits: StructureLimits) -> None:
    """Pillow expands RLE-compressed BMPs pixel by pixel in Python: only small ones pass."""
    if len(data) < 34 or int.from_bytes(data[14:18], "little") < 40:
        return  # an OS/2 header: no compression field
    width, height = struct.unpack_from("<ii", data, 18)
    compression = struct.unpack_from("<I", data, 30)[0]
    pixels = abs(width) * abs(height)
    if compression in _BMP_RLE and pixels > limits.max_rle_pixels:
        raise ImageTooComplex(
            f"the image is a {_BMP_RLE[compression]}-compressed BMP of {pixels / 1e6:.1f} "
            f"megapixels; such BMPs are accepted up to {limits.max_rle_pixels / 1e6:.1f} megapixels"
        )
