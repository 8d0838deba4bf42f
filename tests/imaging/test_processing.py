"""The pure processing layer over real photos, every mode and every resize mode."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageCms, ImageOps

from imagescaler.imaging.formats import Limits
from imagescaler.imaging.geometry import ResizeMode, ResizeSpec
from imagescaler.imaging.processing import ProcessingOptions, process_image
from imagescaler.runtime.errors import CorruptImage, ImageTooLarge, InvalidRequest, UnsupportedImage
from tests.support.images import assert_image_similar, encode, open_bytes, psnr, shared_image
from tests.support.paths import SHARED_IMAGES

LIMITS = Limits(max_bytes=25 << 20, max_pixels=50_000_000)
GRAY_1024 = ProcessingOptions(resize=ResizeSpec(1024, 768), grayscale=True, output_format="JPEG")

ACCEPTED = sorted(
    str(path.relative_to(SHARED_IMAGES))
    for path in SHARED_IMAGES.rglob("*")
    if path.suffix in {".jpg", ".png", ".webp", ".gif", ".heic", ".avif", ".jxl"}
    and "truncated" not in path.name
)
REFUSED = {
    "truncated_1680x1050.jpg": (CorruptImage, "damaged"),
    "formats/test.jp2": (UnsupportedImage, "JPEG 2000"),
    "formats/test.pdf": (UnsupportedImage, "PDF"),
    "formats/test.svg": (UnsupportedImage, "SVG"),
    "README.md": (UnsupportedImage, "text"),
}


def process(data: bytes, options: ProcessingOptions = GRAY_1024) -> Image.Image:
    return open_bytes(process_image(data, options, LIMITS).data)


def test_every_shared_image_is_covered() -> None:
    every = {str(p.relative_to(SHARED_IMAGES)) for p in SHARED_IMAGES.rglob("*") if p.is_file()}
    assert every == set(ACCEPTED) | set(REFUSED)


@pytest.mark.parametrize("name", ACCEPTED)
def test_accepted_image_becomes_1024x768_gray_jpeg(name: str) -> None:
    result = process_image(shared_image(name), GRAY_1024, LIMITS)
    image = open_bytes(result.data)
    assert (image.format, image.mode, image.size) == ("JPEG", "L", (1024, 768))
    assert (result.width, result.height, result.scaled, result.grayscaled) == (
        1024,
        768,
        True,
        True,
    )


@pytest.mark.parametrize(("name", "expected"), sorted(REFUSED.items()))
def test_refused_image_names_the_problem(name: str, expected: tuple[type, str]) -> None:
    error_type, words = expected
    with pytest.raises(error_type) as caught:
        process_image(shared_image(name), GRAY_1024, LIMITS)
    assert words in caught.value.message


@pytest.mark.parametrize("kind", ["Landscape", "Portrait"])
@pytest.mark.parametrize("orientation", range(2, 9))
def test_exif_orientation_comes_out_upright(kind: str, orientation: int) -> None:
    keep = ProcessingOptions(grayscale=True, output_format="PNG")
    reference = process(shared_image(f"exif/{kind}_1.jpg"), keep)
    oriented = process(shared_image(f"exif/{kind}_{orientation}.jpg"), keep)
    assert oriented.size == reference.size
    # Re-encoded JPEG blocks differ by up to ~3.4; any wrong orientation differs by over 40.
    assert_image_similar(oriented, reference, epsilon=6.0)


def test_phone_photo_with_orientation_6_is_upright_landscape() -> None:
    data = shared_image("phone_4032x3024_exif6.jpg")
    result = process_image(data, ProcessingOptions(grayscale=True), LIMITS)
    assert (result.width, result.height) == (3024, 4032)
    reference = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("L")
    assert psnr(open_bytes(result.data), reference) > 30


def test_gray_is_itu_601_luma_in_one_channel() -> None:
    colours = Image.new("RGB", (64, 8))
    for x, colour in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255), (200, 100, 50)]):
        colours.paste(colour, (x * 16, 0, x * 16 + 16, 8))
    out = process(encode(colours), ProcessingOptions(grayscale=True, output_format="PNG"))
    assert out.mode == "L"
    expected = [76, 150, 29, round(200 * 0.299 + 100 * 0.587 + 50 * 0.114)]
    assert [out.getpixel((x * 16 + 8, 4)) for x in range(4)] == expected


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_transparency_is_composited_on_white(mode: str) -> None:
    image = Image.new("RGBA", (40, 20), (0, 0, 0, 0))
    image.paste((0, 0, 0, 255), (0, 0, 20, 20))
    source = image.convert(mode)
    out = process(encode(source), ProcessingOptions(grayscale=True, output_format="PNG"))
    assert out.getpixel((5, 10)) == 0
    assert out.getpixel((35, 10)) == 255


def test_palette_with_transparent_index_is_composited_on_white() -> None:
    image = Image.new("P", (20, 10), 0)
    image.putpalette([0, 0, 0, 10, 20, 30])
    image.paste(1, (10, 0, 20, 10))
    data = encode(image, "GIF", transparency=0)
    out = process(data, ProcessingOptions(output_format="PNG"))
    assert out.mode == "RGB"
    assert out.getpixel((2, 5)) == (255, 255, 255)
    assert out.getpixel((15, 5)) == (10, 20, 30)


def test_cmyk_jpeg_becomes_rgb() -> None:
    data = encode(Image.new("CMYK", (64, 48), (0, 255, 255, 0)), "JPEG")
    out = process(data, ProcessingOptions(output_format="PNG"))
    assert out.mode == "RGB"
    red, green, blue = out.getpixel((32, 24))  # type: ignore[misc]
    assert red > 200 and green < 60 and blue < 60


def test_sixteen_bit_gray_is_scaled_not_clipped() -> None:
    row = b"\x00\x00" * 16 + b"\x00\x80" * 16  # 0 then 32768, little-endian
    image = Image.frombytes("I;16", (32, 8), row * 8)
    out = process(encode(image), ProcessingOptions(grayscale=True, output_format="PNG"))
    assert out.mode == "L"
    assert out.getpixel((4, 4)) == 0
    assert out.getpixel((20, 4)) in (127, 128)


def test_icc_profile_is_converted_to_srgb() -> None:
    data = shared_image("icc_prophoto_1680x1050.jpg")
    out = process(data, ProcessingOptions(output_format="PNG"))
    source = Image.open(io.BytesIO(data))
    profile = ImageCms.ImageCmsProfile(io.BytesIO(source.info["icc_profile"]))
    expected = ImageCms.profileToProfile(source, profile, ImageCms.createProfile("sRGB"))
    assert expected is not None
    assert_image_similar(out, expected, epsilon=2.0)
    assert_image_similar(out, source.convert("RGB"), epsilon=100) and (
        # ProPhoto values read as sRGB look washed out: the conversion must change them.
        psnr(out, source.convert("RGB")) < 30
    )


@pytest.mark.parametrize(
    ("mode", "size_in", "size_out"),
    [
        (ResizeMode.STRETCH, (1920, 1080), (1024, 768)),
        (ResizeMode.FIT, (1920, 1080), (1024, 576)),
        (ResizeMode.FIT, (1080, 1920), (432, 768)),
        (ResizeMode.COVER, (1920, 1080), (1024, 768)),
        (ResizeMode.PAD, (1920, 1080), (1024, 768)),
        (ResizeMode.STRETCH, (550, 368), (1024, 768)),
    ],
)
def test_resize_modes_give_their_sizes(
    mode: ResizeMode, size_in: tuple[int, int], size_out: tuple[int, int]
) -> None:
    data = encode(Image.new("RGB", size_in, (120, 130, 140)), "JPEG")
    options = ProcessingOptions(resize=ResizeSpec(1024, 768, mode), output_format="PNG")
    assert process(data, options).size == size_out


def test_pad_letterboxes_with_the_fill_colour() -> None:
    data = encode(Image.new("RGB", (1920, 1080), (255, 255, 255)), "PNG")
    spec = ResizeSpec(1024, 768, ResizeMode.PAD, fill=(255, 0, 0))
    out = process(data, ProcessingOptions(resize=spec, output_format="PNG"))
    assert out.getpixel((512, 10)) == (255, 0, 0)
    assert out.getpixel((512, 384)) == (255, 255, 255)


def test_cover_crops_the_centre() -> None:
    image = Image.new("L", (300, 100), 0)
    image.paste(255, (100, 0, 200, 100))  # a white centre square between black sides
    spec = ResizeSpec(100, 100, ResizeMode.COVER)
    out = process(encode(image), ProcessingOptions(resize=spec, output_format="PNG"))
    assert out.size == (100, 100)
    low, _ = out.getextrema()  # type: ignore[misc]
    assert low > 200


def test_large_downscale_does_not_alias() -> None:
    stripes = Image.new("L", (4000, 3000))
    stripes.putdata([255 * ((x // 2) % 2) for _ in range(3000) for x in range(4000)])
    spec = ResizeSpec(1000, 750)
    out = process(encode(stripes), ProcessingOptions(resize=spec, output_format="PNG"))
    low, high = out.getextrema()  # type: ignore[misc]
    # Point sampling would give pure black or white; a proper filter averages the stripes.
    assert low >= 90 and high <= 165, f"fine stripes aliased to {low}-{high}"


def test_output_has_no_metadata() -> None:
    result = process_image(shared_image("phone_4032x3024_exif6.jpg"), GRAY_1024, LIMITS)
    image = Image.open(io.BytesIO(result.data))
    assert "exif" not in image.info and "icc_profile" not in image.info


@pytest.mark.parametrize(("fmt", "name"), [("PNG", "PNG"), ("WEBP", "WEBP"), ("JPEG", "JPEG")])
def test_output_formats(fmt: str, name: str) -> None:
    options = ProcessingOptions(resize=ResizeSpec(64, 48), output_format=fmt, quality=80)
    assert process(shared_image("bird_1920x1080.jpg"), options).format == name


def test_nothing_to_change_returns_the_input_untouched() -> None:
    data = shared_image("bird_1920x1080.jpg")
    result = process_image(data, ProcessingOptions(), LIMITS)
    assert result.data is data
    assert (result.scaled, result.grayscaled, result.width, result.height) == (
        False,
        False,
        1920,
        1080,
    )


def test_exact_target_size_is_not_rescaled() -> None:
    data = encode(Image.new("RGB", (1024, 768), (10, 20, 30)), "JPEG")
    result = process_image(data, ProcessingOptions(resize=ResizeSpec(1024, 768)), LIMITS)
    assert result.data is data and not result.scaled


def test_oriented_image_is_not_returned_untouched() -> None:
    result = process_image(shared_image("exif/Landscape_6.jpg"), ProcessingOptions(), LIMITS)
    assert open_bytes(result.data).size == (1800, 1200)


def test_gif_uses_the_first_frame() -> None:
    data = shared_image("animated_703x681_24frames.gif")
    out = process(data, ProcessingOptions(output_format="PNG"))
    first = Image.open(io.BytesIO(data)).convert("RGB")
    assert out.size == (703, 681)
    assert_image_similar(out, first, epsilon=1.0)


@pytest.mark.parametrize("fmt", ["BMP", "TIFF"])
def test_bmp_and_tiff_are_accepted(fmt: str) -> None:
    data = encode(Image.new("RGB", (200, 100), (1, 2, 3)), fmt)
    assert process(data).size == (1024, 768)


def test_over_the_pixel_limit_is_refused_from_the_header() -> None:
    data = encode(Image.new("L", (300, 200)), "PNG")
    with pytest.raises(ImageTooLarge, match=r"300x200 .* over the limit of 0\.1 megapixels"):
        process_image(data, GRAY_1024, Limits(max_bytes=1 << 20, max_pixels=50_000))


def test_over_the_byte_limit_is_refused() -> None:
    with pytest.raises(ImageTooLarge, match="over the limit of 1000 bytes"):
        process_image(b"x" * 1001, GRAY_1024, Limits(max_bytes=1000, max_pixels=1000))


def test_empty_input_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="empty"):
        process_image(b"", GRAY_1024, LIMITS)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (ProcessingOptions(resize=ResizeSpec(0, 768)), "at least 1x1"),
        (ProcessingOptions(quality=0), "quality"),
        (ProcessingOptions(output_format="GIF"), "output format GIF"),
    ],
)
def test_bad_options_are_refused(options: ProcessingOptions, words: str) -> None:
    with pytest.raises(InvalidRequest, match=words):
        process_image(shared_image("bird_1920x1080.jpg"), options, LIMITS)
