"""Output quality of the fast path against a full-decode, gray, Lanczos reference."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageOps

from imagescaler.imaging.formats import Limits
from tests.support.images import encode, open_bytes, psnr
from tests.support.paths import SHARED_IMAGES
from tests.support.scaling import encoded, scale

TARGET = (1024, 768)
LIMITS = Limits(max_bytes=1 << 30, max_pixels=200_000_000)


def reference(data: bytes) -> Image.Image:
    """The slow, obviously right way: decode everything, orient, gray, Lanczos."""
    return (
        ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
        .convert("L")
        .resize(TARGET, Image.Resampling.LANCZOS)
    )


@pytest.fixture(scope="module")
def derived(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The benchmark's made inputs (a large PNG and an exact-size JPEG), and a 24 MP PNG that
    libvips could shrink by 3 on load, which would fail by 0.6 dB (png_decoder.MAX_SHRINK)."""
    leaf = Image.open(SHARED_IMAGES / "leaf_3264x2448.jpg").convert("RGB")
    night = Image.open(SHARED_IMAGES / "night_4000x6000.jpg").convert("RGB")
    return {
        "8 MP PNG": encode(leaf, "PNG", compress_level=1),
        "24 MP PNG, landscape": encode(
            night.transpose(Image.Transpose.ROTATE_90), "PNG", compress_level=1
        ),
        "1024x768 JPEG": encode(leaf.resize(TARGET, Image.Resampling.LANCZOS), "JPEG", quality=90),
    }


BENCHMARK_IMAGES = [
    "phone_4032x3024_exif6.jpg",
    "night_4000x6000.jpg",
    "night_4000x6000.webp",
    "leaf_3264x2448.jpg",
    "bird_1920x1080.jpg",
    "8 MP PNG",
    "24 MP PNG, landscape",
    "1024x768 JPEG",
]


@pytest.mark.parametrize("name", BENCHMARK_IMAGES)
def test_within_1_db_of_the_reference(name: str, derived: dict[str, bytes]) -> None:
    data = derived[name] if name in derived else (SHARED_IMAGES / name).read_bytes()
    expected = reference(data)
    allowance = psnr(open_bytes(encode(expected, "JPEG", quality=90)), expected) - 1.0
    result = open_bytes(encoded(scale(data, LIMITS, target=TARGET)))
    assert (result.format, result.mode, result.size) == ("JPEG", "L", TARGET)
    assert psnr(result, expected) >= allowance, (
        f"{psnr(result, expected):.2f} dB < {allowance:.2f} dB"
    )


def test_a_wrong_orientation_would_fail_the_quality_check() -> None:
    data = (SHARED_IMAGES / "phone_4032x3024_exif6.jpg").read_bytes()
    expected = reference(data)
    upside_down = open_bytes(encoded(scale(data, LIMITS, target=TARGET))).transpose(
        Image.Transpose.ROTATE_180
    )
    allowance = psnr(open_bytes(encode(expected, "JPEG", quality=90)), expected) - 1.0
    assert psnr(upside_down, expected) < allowance - 10


def test_display_p3_gray_skips_conversion_within_a_hair_of_the_managed_result() -> None:
    from PIL import ImageCms

    data = (SHARED_IMAGES / "phone_4032x3024_exif6.jpg").read_bytes()
    source = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    profile = ImageCms.ImageCmsProfile(io.BytesIO(source.info["icc_profile"]))
    managed = ImageCms.profileToProfile(
        source.convert("RGB"), profile, ImageCms.createProfile("sRGB")
    )
    assert managed is not None
    managed_gray = managed.convert("L").resize(TARGET, Image.Resampling.LANCZOS)
    ours = open_bytes(encoded(scale(data, LIMITS, target=TARGET)))
    assert psnr(ours, managed_gray) > 38  # JPEG q90 noise level; the skip itself costs ~52 dB
