"""Builders for the hostile files of issue 16: small files that cost much CPU or memory.

Each is made from its format's specification with Pillow, zlib and struct, small and fast
to build, so the tests can rebuild the whole set on every run.
"""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def jpeg_scan_bomb(scans: int, side: int = 4096) -> bytes:
    """A progressive gray JPEG of side x side whose last AC scan is repeated `scans` times.

    Each extra scan is a full-band first pass (Ah=Al=0) coded as EOB runs over every block,
    which libjpeg accepts without a warning and walks block by block: about 15 bytes each.
    """
    base = io.BytesIO()
    Image.new("L", (side, side), 128).save(base, "JPEG", progressive=True, quality=90)
    body = base.getvalue()
    assert body.endswith(b"\xff\xd9")
    blocks = (side // 8) ** 2
    # One AC Huffman table (class 1, id 1) with the single symbol EOB14 (0xE0), code "0".
    counts = bytes([1] + [0] * 15)
    table = b"\x11" + counts + b"\xe0"
    dht = b"\xff\xc4" + struct.pack(">H", 2 + len(table)) + table
    sos = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x01" + bytes([1, 63, 0x00])
    scan = sos + _eob_runs(blocks)
    return body[:-2] + dht + scan * scans + b"\xff\xd9"


def with_junk_after_app0(jpeg: bytes) -> bytes:
    """The JPEG with one junk byte between its first segment (APP0) and the next: libjpeg
    skips to the next marker with a warning, so what follows is still decoded."""
    end = 4 + int.from_bytes(jpeg[4:6], "big")
    return jpeg[:end] + b"\x00" + jpeg[end:]


def _eob_runs(blocks: int) -> bytes:
    """Entropy data: runs of 32767 end-of-blocks (code "0", then 14 one bits) over `blocks`."""
    runs = -(-blocks // 32767)
    bits = "0" + "1" * 14
    bits = bits * runs + "1" * (-len(bits * runs) % 8)
    out = bytearray()
    for start in range(0, len(bits), 8):
        byte = int(bits[start : start + 8], 2)
        out.append(byte)
        if byte == 0xFF:
            out.append(0)  # byte stuffing
    return bytes(out)


def tiff_with_strips(strips: int, padding_tags: int = 0) -> bytes:
    """A 1-pixel-wide gray TIFF of `strips` rows, one row per strip (SHORT offsets reused).
    `padding_tags` private tags come first, pushing the strip tags deep into the directory."""
    entries = [(40000 + n, 3, 1, 0) for n in range(padding_tags)] + [
        (256, 4, 1, 1),  # width
        (257, 4, 1, strips),  # height
        (258, 3, 1, 8),  # bits per sample
        (259, 3, 1, 1),  # no compression
        (262, 3, 1, 1),  # min-is-black
        (273, 4, strips, 0),  # strip offsets: patched below
        (278, 4, 1, 1),  # rows per strip
        (279, 3, strips, 0),  # strip byte counts: patched below
    ]
    ifd_offset = 8
    ifd_size = 2 + 12 * len(entries) + 4
    offsets_at = ifd_offset + ifd_size
    counts_at = offsets_at + 4 * strips
    pixel_at = counts_at + 2 * strips
    out = bytearray(b"II*\x00" + struct.pack("<I", ifd_offset))
    out += struct.pack("<H", len(entries))
    arrays = {273: offsets_at, 279: counts_at}
    for tag, kind, count, value in entries:
        out += struct.pack("<HHII", tag, kind, count, arrays.get(tag, value))
    out += struct.pack("<I", 0)
    out += struct.pack("<I", pixel_at) * strips  # every strip reads the same byte
    out += struct.pack("<H", 1) * strips
    out += b"\x80"
    return bytes(out)


def bmp_rle8_end_of_lines(width: int, height: int) -> bytes:
    """An RLE8 BMP of one pixel then an end-of-line escape per row; Pillow pads each row
    in pure Python, one pixel at a time."""
    pixels = b"\x01\x00\x00\x00" * height + b"\x00\x01"
    palette = b"".join(bytes([n, n, n, 0]) for n in range(256))
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(pixels), 0, 0, 256, 0)
    offset = 14 + len(info) + len(palette)
    header = b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset)
    return header + info + palette + pixels


def animated_webp_canvas(width: int, height: int) -> bytes:
    """A two-frame 1x1 animated WebP whose canvas claims width x height."""
    frames = [Image.new("RGB", (1, 1), (255, 0, 0)), Image.new("RGB", (1, 1), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    data = bytearray(buffer.getvalue())
    vp8x = data.index(b"VP8X")
    data[vp8x + 12 : vp8x + 18] = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(
        3, "little"
    )
    return bytes(data)


def png_streamed(width: int, height: int, mode: str = "RGBA", bit_depth: int = 8) -> bytes:
    """A flat PNG of any size, compressed row by row so building it takes little memory."""
    colour_type, channels = {"L": (0, 1), "RGB": (2, 3), "RGBA": (6, 4)}[mode]
    row = b"\x00" + b"\x00" * (width * channels * bit_depth // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


def png_with_idat_chunks(chunks: int) -> bytes:
    """A 1x1 gray PNG whose image data is split into `chunks` chunks (most of them empty)."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    empty = _chunk(b"IDAT", b"")
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + empty * (chunks - 1)
        + _chunk(b"IDAT", zlib.compress(b"\x00\x80"))
        + _chunk(b"IEND", b"")
    )


def gif_grown_by_first_frame(width: int, height: int) -> bytes:
    """A GIF whose logical screen is 1x1 but whose first frame is width x height."""
    screen = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    descriptor = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0)
    # LZW minimum code size 2, then one sub-block: clear, pixel 0, end of information.
    image_data = b"\x02\x02\x44\x01\x00"
    return screen + descriptor + image_data + b"\x3b"


def gif_of_tiny_parts(frames: int = 1, sub_blocks: int = 1) -> bytes:
    """A 64x64 GIF of `frames` 1x1 frames, the first one's data split into `sub_blocks`
    one-byte sub-blocks (encoders write 255-byte ones): each part costs Pillow a Python loop."""
    screen = b"GIF89a" + struct.pack("<HHBBB", 64, 64, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    descriptor = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0)
    first = descriptor + b"\x02\x02\x44\x01" + b"\x01\x00" * (sub_blocks - 1) + b"\x00"
    other = b"\x21\xf9\x04\x00\x01\x00\x00\x00" + descriptor + b"\x02\x02\x44\x01\x00"
    return screen + first + other * (frames - 1) + b"\x3b"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
