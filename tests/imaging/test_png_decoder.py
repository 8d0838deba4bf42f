"""PNG through libvips: Pillow's pixels, as strict, and shrunk only where quality holds."""

from __future__ import annotations

import io
import multiprocessing
import zlib
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from imagescaler.imaging.formats import Limits
from imagescaler.imaging.png_decoder import decode_png, libvips_mode, shrink_factor, shrunk_size
from imagescaler.runtime.errors import CorruptImage
from tests.support.images import encode, open_bytes
from tests.support.paths import SHARED_IMAGES
from tests.support.scaling import encoded, scale

LIMITS = Limits(max_bytes=1 << 30, max_pixels=200_000_000)


def noise(mode: str, size: tuple[int, int] = (300, 200)) -> Image.Image:
    bands = len(Image.new(mode, (1, 1)).getbands())
    rng = np.random.default_rng(7)
    array = rng.integers(0, 256, (size[1], size[0], bands), dtype=np.uint8)
    return Image.fromarray(array[:, :, 0] if bands == 1 else array, mode)


def mode_for(data: bytes) -> str | None:
    return libvips_mode(data, Image.open(io.BytesIO(data)))


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_eight_bit_pngs_decode_to_exactly_pillows_pixels(mode: str) -> None:
    image = noise(mode)
    data = encode(image, "PNG", optimize=False)
    assert mode_for(data) == mode
    decoded = decode_png(data, mode)
    assert (decoded.mode, decoded.size) == (mode, image.size)
    assert decoded.tobytes() == Image.open(io.BytesIO(data)).tobytes() == image.tobytes()


@pytest.mark.parametrize(
    ("image", "why"),
    [
        (noise("RGB").quantize(64), "palette"),
        (noise("L").convert("1"), "1-bit"),
        (Image.fromarray(np.full((20, 30), 40000, dtype=np.uint16)), "16-bit gray"),
        (noise("RGBA"), "alpha"),
        (noise("LA"), "gray with alpha"),
    ],
)
def test_other_pngs_stay_with_pillow(image: Image.Image, why: str) -> None:
    assert mode_for(encode(image, "PNG")) is None, why


def test_an_interlaced_png_stays_with_pillow() -> None:
    # libvips reads an interlaced PNG whole before it can shrink it: the budget would be short.
    plain = encode(noise("RGB"), "PNG")
    assert mode_for(plain) == "RGB"
    interlaced = interlace(plain)
    assert Image.open(io.BytesIO(interlaced)).tobytes() == Image.open(io.BytesIO(plain)).tobytes()
    assert interlaced[28] == 1 and mode_for(interlaced) is None


def interlace(data: bytes) -> bytes:
    """The same PNG marked Adam7-interlaced, with its pixels written in the seven passes."""
    with Image.open(io.BytesIO(data)) as opened:
        array = np.asarray(opened.convert("RGB"))
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2)]
    passes.append((0, 1, 1, 2))
    rows = b"".join(
        b"\x00" + row.tobytes()
        for x0, y0, dx, dy in passes
        for row in array[y0::dy, x0::dx]
        if array[y0::dy, x0::dx].size
    )
    height, width = array.shape[:2]
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 1])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body).to_bytes(4, "big")
    return len(body).to_bytes(4, "big") + kind + body + crc


def test_a_sixteen_bit_rgb_png_stays_with_pillow() -> None:
    # Pillow calls a 16-bit RGB PNG "RGB" (it keeps the high bytes); libvips would keep 16 bits.
    width, height = 4, 3
    rows = b"".join(b"\x00" + bytes(range(width * 6)) for _ in range(height))
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([16, 2, 0, 0, 0])

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body).to_bytes(4, "big")
        return len(body).to_bytes(4, "big") + kind + body + crc

    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    assert Image.open(io.BytesIO(data)).mode == "RGB"
    assert mode_for(data) is None


def test_a_colour_keyed_png_stays_with_pillow() -> None:
    assert mode_for(encode(noise("RGB"), "PNG", transparency=(1, 2, 3))) is None


def flip(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes([data[offset] ^ 0xFF]) + data[offset + 1 :]


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: flip(data, 200), id="byte-flipped"),
        pytest.param(lambda data: flip(data, len(data) - 40_000), id="byte-flipped-late"),
    ],
)
def test_damaged_pngs_are_refused(damage: Callable[[bytes], bytes]) -> None:
    data = encode(noise("RGB", (600, 400)), "PNG", optimize=False)
    with pytest.raises((OSError, SyntaxError)):  # Pillow refuses it too
        Image.open(io.BytesIO(damage(data))).load()
    with pytest.raises(CorruptImage, match="PNG data is damaged or truncated"):
        decode_png(damage(data), "RGB")
    with pytest.raises(CorruptImage):
        scale(damage(data), LIMITS, target=(100, 100))


def test_a_wrong_checksum_alone_is_accepted_as_pillow_accepts_it() -> None:
    image = noise("RGB", (300, 200))
    data = encode(image, "PNG", optimize=False)
    start = data.index(b"IDAT")
    crc = start + 4 + int.from_bytes(data[start - 4 : start], "big")
    bad_crc = flip(data, crc)
    assert Image.open(io.BytesIO(bad_crc)).tobytes() == image.tobytes()
    assert decode_png(bad_crc, "RGB").tobytes() == image.tobytes()


def test_a_process_forked_after_a_decode_decodes_pngs_with_pillow() -> None:
    # libvips' threads do not survive a fork: a child's decode through it would hang.
    data = encode(noise("RGB", (900, 600)), "PNG")
    expected = encoded(scale(data, LIMITS, target=(300, 200)))  # libvips is now running here
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        child = pool.apply_async(_in_child, (data,))
        mode, result = child.get(timeout=60)
    assert mode is None  # Pillow decodes in the child
    assert open_bytes(result).size == open_bytes(expected).size == (300, 200)


def _in_child(data: bytes) -> tuple[str | None, bytes]:
    return mode_for(data), encoded(scale(data, LIMITS, target=(300, 200)))


def test_shrinks_by_two_only_with_room_for_lanczos() -> None:
    assert shrink_factor((3264, 2448), (1024, 768)) == 2
    assert shrink_factor((6000, 4000), (1024, 768)) == 2  # a box of 3 fails the 1 dB rule
    assert shrink_factor((3000, 2250), (1024, 768)) == 1  # 1.46x left after halving
    assert shrink_factor((3264, 2448), None) == 1
    for size in [(900, 600), (901, 601), (903, 605)]:
        decoded = decode_png(encode(noise("RGB", size), "PNG"), "RGB", (300, 200))
        assert decoded.size == shrunk_size(size, (300, 200))  # what the budget counts
    assert shrunk_size((901, 601), (300, 200)) == (451, 301)


def test_the_icc_profile_is_still_applied() -> None:
    # A red square tagged with ProPhoto RGB comes out converted to sRGB, as with Pillow.
    # Large enough to be halved on load.
    with Image.open(SHARED_IMAGES / "icc_prophoto_1680x1050.jpg") as photo:
        prophoto = photo.info["icc_profile"]
    tagged = encode(Image.new("RGB", (400, 300), (200, 30, 30)), "PNG", icc_profile=prophoto)
    untagged = encode(Image.new("RGB", (400, 300), (200, 30, 30)), "PNG")
    assert mode_for(tagged) == "RGB"
    assert decode_png(tagged, "RGB", (32, 24)).size == (200, 150)
    as_png = {"target": (32, 24), "grayscale": False, "output_format": "png"}
    converted = open_bytes(encoded(scale(tagged, LIMITS, **as_png)))
    plain = open_bytes(encoded(scale(untagged, LIMITS, **as_png)))
    assert converted.getpixel((5, 5)) != plain.getpixel((5, 5)) == (200, 30, 30)
