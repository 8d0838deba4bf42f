"""HEIC/HEIF, AVIF and JPEG XL, as phones and cameras write them: accepted with the rules of
every format (limits from the header, orientation once, 8 bits, alpha on white, primary image)."""

from __future__ import annotations

import io

import numpy as np
import pillow_heif
import pillow_jxl  # noqa: F401 - Pillow's JPEG XL writer, for samples (the service decodes apart)
import pytest
from PIL import Image

from imagescaler.imaging.formats import Limits
from imagescaler.runtime.errors import CorruptImage, ImageTooLarge
from tests.support.images import open_bytes, shared_image
from tests.support.scaling import convert, encoded, scale

LIMITS = Limits(max_bytes=1 << 30, max_pixels=200_000_000)
SAMPLES = {"HEIF": "formats/test.heic", "AVIF": "formats/test.avif", "JXL": "formats/test.jxl"}


def upright_marked() -> Image.Image:
    """A landscape picture, red in its top-left quarter."""
    picture = Image.new("RGB", (80, 40), (255, 255, 255))
    picture.paste((255, 0, 0), (0, 0, 40, 20))
    return picture


def stored_with_orientation_6(image_format: str) -> bytes:
    """As a camera writes a portrait-held shot: pixels turned, EXIF orientation 6 (pillow-heif
    turns that into the container's irot on save)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    upright_marked().transpose(Image.Transpose.ROTATE_90).save(
        buffer, format=image_format, exif=exif.tobytes(), quality=95
    )
    return buffer.getvalue()


@pytest.mark.parametrize("image_format", list(SAMPLES))
def test_the_shared_samples_come_out_1024x768_gray(image_format: str) -> None:
    result = scale(shared_image(SAMPLES[image_format]), LIMITS)
    assert result.source_format == image_format
    image = open_bytes(encoded(result))
    assert (image.format, image.mode, image.size) == ("JPEG", "L", (1024, 768))


@pytest.mark.parametrize("image_format", ["HEIF", "AVIF"])
def test_orientation_is_applied_exactly_once(image_format: str) -> None:
    """JPEG XL carries orientation in its codestream, which Pillow's writer cannot set (an
    Exif box's is ignored, as the format specifies): tests/hardening/test_jpeg_xl.py covers
    it with cjxl's files."""
    result = convert(stored_with_orientation_6(image_format), LIMITS)
    image = open_bytes(encoded(result)).convert("RGB")
    assert image.size == (80, 40), "not upright, or turned twice"
    red, green, _ = image.getpixel((10, 5))  # the top-left quarter is red again
    assert red > 200 and green < 60


def test_ten_bit_heif_comes_out_in_eight_bits_by_range() -> None:
    levels = np.zeros((40, 80, 3), dtype=np.uint16)
    levels[:, :40] = 1023 << 6  # full scale of 10 bits, as 16-bit samples
    levels[:, 40:] = 512 << 6  # about half
    heif = pillow_heif.from_bytes(mode="RGB;16", size=(80, 40), data=levels.tobytes())
    buffer = io.BytesIO()
    heif.save(buffer, quality=-1)  # 16-bit samples are written as a 10-bit HEIF
    written = pillow_heif.open_heif(io.BytesIO(buffer.getvalue()), convert_hdr_to_8bit=False)
    assert written.info["bit_depth"] == 10  # the sample really is 10-bit
    image = open_bytes(encoded(convert(buffer.getvalue(), LIMITS)))
    assert image.mode == "RGB"
    left, right = image.getpixel((10, 20)), image.getpixel((70, 20))
    assert min(left) >= 250 and 120 <= right[0] <= 135


def test_a_multi_image_heic_gives_its_primary_image() -> None:
    heif = pillow_heif.from_pillow(Image.new("RGB", (64, 48), (255, 0, 0)))
    heif.add_from_pillow(Image.new("RGB", (64, 48), (0, 0, 255)))
    heif[0].info["primary"], heif[1].info["primary"] = False, True
    buffer = io.BytesIO()
    heif.save(buffer, quality=95)
    image = open_bytes(encoded(convert(buffer.getvalue(), LIMITS))).convert("RGB")
    red, _, blue = image.getpixel((32, 24))
    assert blue > 200 and red < 60


@pytest.mark.parametrize("image_format", list(SAMPLES))
def test_the_pixel_limit_is_checked_on_the_header(image_format: str, no_decode: list[str]) -> None:
    with pytest.raises(ImageTooLarge, match="over the limit"):
        scale(shared_image(SAMPLES[image_format]), Limits(1 << 30, 100_000))
    assert no_decode == []


@pytest.mark.parametrize("image_format", list(SAMPLES))
def test_a_truncated_file_is_refused_as_damaged(image_format: str) -> None:
    data = shared_image(SAMPLES[image_format])
    with pytest.raises(CorruptImage):
        scale(data[: len(data) // 2], LIMITS)
