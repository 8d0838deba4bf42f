"""ScaleImage's pixel work (the `default` profile through preprocess()) over real photos,
every mode and every size rule."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageCms, ImageOps
from pydantic import ValidationError

from imagescaler.imaging.builtin_profiles import default_profile
from imagescaler.imaging.formats import Limits
from imagescaler.runtime.errors import CorruptImage, ImageTooLarge, InvalidRequest, UnsupportedImage
from tests.support.images import assert_image_similar, encode, open_bytes, psnr, shared_image
from tests.support.paths import SHARED_IMAGES
from tests.support.scaling import convert, encoded, scale

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


def gray_1024(data: bytes) -> Image.Image:
    return open_bytes(encoded(scale(data)))


def as_png(data: bytes, grayscale: bool = False) -> Image.Image:
    return open_bytes(encoded(convert(data, grayscale=grayscale)))


def test_every_shared_image_is_covered() -> None:
    every = {str(p.relative_to(SHARED_IMAGES)) for p in SHARED_IMAGES.rglob("*") if p.is_file()}
    assert every == set(ACCEPTED) | set(REFUSED)


@pytest.mark.parametrize("name", ACCEPTED)
def test_accepted_image_becomes_1024x768_gray_jpeg(name: str) -> None:
    result = scale(shared_image(name))
    image = open_bytes(encoded(result))
    assert (image.format, image.mode, image.size) == ("JPEG", "L", (1024, 768))
    assert result.geometry.output_size == (1024, 768) and not result.geometry.margin_skipped


@pytest.mark.parametrize(("name", "expected"), sorted(REFUSED.items()))
def test_refused_image_names_the_problem(name: str, expected: tuple[type, str]) -> None:
    error_type, words = expected
    with pytest.raises(error_type) as caught:
        scale(shared_image(name))
    assert words in caught.value.message


@pytest.mark.parametrize("kind", ["Landscape", "Portrait"])
@pytest.mark.parametrize("orientation", range(2, 9))
def test_exif_orientation_comes_out_upright(kind: str, orientation: int) -> None:
    reference = as_png(shared_image(f"exif/{kind}_1.jpg"), grayscale=True)
    oriented = as_png(shared_image(f"exif/{kind}_{orientation}.jpg"), grayscale=True)
    assert oriented.size == reference.size
    # Re-encoded JPEG blocks differ by up to ~3.4; any wrong orientation differs by over 40.
    assert_image_similar(oriented, reference, epsilon=6.0)


def test_phone_photo_with_orientation_6_is_upright_landscape() -> None:
    data = shared_image("phone_4032x3024_exif6.jpg")
    result = convert(data, grayscale=True, output_format="jpeg")
    assert result.geometry.output_size == (3024, 4032)
    reference = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("L")
    assert psnr(open_bytes(encoded(result)), reference) > 30


def test_gray_is_itu_601_luma_in_one_channel() -> None:
    colours = Image.new("RGB", (64, 8))
    for x, colour in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255), (200, 100, 50)]):
        colours.paste(colour, (x * 16, 0, x * 16 + 16, 8))
    out = as_png(encode(colours), grayscale=True)
    assert out.mode == "L"
    expected = [76, 150, 29, round(200 * 0.299 + 100 * 0.587 + 50 * 0.114)]
    assert [out.getpixel((x * 16 + 8, 4)) for x in range(4)] == expected


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_transparency_is_composited_on_white(mode: str) -> None:
    image = Image.new("RGBA", (40, 20), (0, 0, 0, 0))
    image.paste((0, 0, 0, 255), (0, 0, 20, 20))
    source = image.convert(mode)
    out = as_png(encode(source), grayscale=True)
    assert out.getpixel((5, 10)) == 0
    assert out.getpixel((35, 10)) == 255


def test_palette_with_transparent_index_is_composited_on_white() -> None:
    image = Image.new("P", (20, 10), 0)
    image.putpalette([0, 0, 0, 10, 20, 30])
    image.paste(1, (10, 0, 20, 10))
    data = encode(image, "GIF", transparency=0)
    out = as_png(data)
    assert out.mode == "RGB"
    assert out.getpixel((2, 5)) == (255, 255, 255)
    assert out.getpixel((15, 5)) == (10, 20, 30)


def test_cmyk_jpeg_becomes_rgb() -> None:
    data = encode(Image.new("CMYK", (64, 48), (0, 255, 255, 0)), "JPEG")
    out = as_png(data)
    assert out.mode == "RGB"
    red, green, blue = out.getpixel((32, 24))  # type: ignore[misc]
    assert red > 200 and green < 60 and blue < 60


def test_sixteen_bit_gray_is_scaled_not_clipped() -> None:
    row = b"\x00\x00" * 16 + b"\x00\x80" * 16  # 0 then 32768, little-endian
    image = Image.frombytes("I;16", (32, 8), row * 8)
    out = as_png(encode(image), grayscale=True)
    assert out.mode == "L"
    assert out.getpixel((4, 4)) == 0
    assert out.getpixel((20, 4)) in (127, 128)


def test_icc_profile_is_converted_to_srgb() -> None:
    data = shared_image("icc_prophoto_1680x1050.jpg")
    out = as_png(data)
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
        ("stretch", (1920, 1080), (1024, 768)),
        ("fit", (1920, 1080), (1024, 576)),
        ("fit", (1080, 1920), (432, 768)),
        ("cover", (1920, 1080), (1024, 768)),
        ("pad", (1920, 1080), (1024, 768)),
        ("stretch", (550, 368), (1024, 768)),
    ],
)
def test_resize_modes_give_their_sizes(
    mode: str, size_in: tuple[int, int], size_out: tuple[int, int]
) -> None:
    data = encode(Image.new("RGB", size_in, (120, 130, 140)), "JPEG")
    result = scale(data, resize_mode=mode, grayscale=False, output_format="png")
    assert open_bytes(encoded(result)).size == size_out


def test_pad_letterboxes_with_the_fill_colour() -> None:
    data = encode(Image.new("RGB", (1920, 1080), (255, 255, 255)), "PNG")
    result = scale(data, resize_mode="pad", fill=(255, 0, 0), grayscale=False, output_format="png")
    out = open_bytes(encoded(result))
    assert out.getpixel((512, 10)) == (255, 0, 0)
    assert out.getpixel((512, 384)) == (255, 255, 255)


def test_cover_crops_the_centre() -> None:
    image = Image.new("L", (300, 100), 0)
    image.paste(255, (100, 0, 200, 100))  # a white centre square between black sides
    result = scale(encode(image), target=(100, 100), resize_mode="cover", output_format="png")
    out = open_bytes(encoded(result))
    assert out.size == (100, 100)
    low, _ = out.getextrema()  # type: ignore[misc]
    assert low > 200


def test_large_downscale_does_not_alias() -> None:
    stripes = Image.new("L", (4000, 3000))
    stripes.putdata([255 * ((x // 2) % 2) for _ in range(3000) for x in range(4000)])
    out = open_bytes(encoded(scale(encode(stripes), target=(1000, 750), output_format="png")))
    low, high = out.getextrema()  # type: ignore[misc]
    # Point sampling would give pure black or white; a proper filter averages the stripes.
    assert low >= 90 and high <= 165, f"fine stripes aliased to {low}-{high}"


def test_output_has_no_metadata() -> None:
    image = Image.open(io.BytesIO(encoded(scale(shared_image("phone_4032x3024_exif6.jpg")))))
    assert "exif" not in image.info and "icc_profile" not in image.info


@pytest.mark.parametrize(("fmt", "name"), [("png", "PNG"), ("webp", "WEBP"), ("jpeg", "JPEG")])
def test_output_formats(fmt: str, name: str) -> None:
    result = scale(
        shared_image("bird_1920x1080.jpg"), target=(64, 48), output_format=fmt, quality=80
    )
    assert open_bytes(encoded(result)).format == name


def test_an_image_already_at_size_is_encoded_again_without_its_metadata() -> None:
    """Decided: within the margin nothing is resampled, but the image is always encoded by
    the service, so no EXIF, ICC or other metadata of the sender's comes back (the one
    pipeline encodes every output alike; the old pass-through returned the sender's bytes)."""
    exif = Image.Exif()
    exif[0x010E] = "secret caption"  # ImageDescription
    data = encode(Image.new("L", (1024, 768), 90), "JPEG", exif=exif.tobytes())
    result = scale(data, margin=0.05)
    assert result.geometry.margin_skipped and result.geometry.output_size == (1024, 768)
    assert encoded(result) != data and b"secret caption" not in encoded(result)
    assert "exif" not in open_bytes(encoded(result)).info


def test_within_the_margin_the_size_is_kept() -> None:
    data = encode(Image.new("RGB", (1000, 750), (10, 20, 30)), "JPEG")
    result = scale(data, margin=0.05)
    assert result.geometry.margin_skipped and open_bytes(encoded(result)).size == (1000, 750)


def test_oriented_image_comes_out_upright_at_its_own_size() -> None:
    result = convert(shared_image("exif/Landscape_6.jpg"), output_format="jpeg")
    assert open_bytes(encoded(result)).size == (1800, 1200)


def test_gif_uses_the_first_frame() -> None:
    data = shared_image("animated_703x681_24frames.gif")
    out = as_png(data)
    first = Image.open(io.BytesIO(data)).convert("RGB")
    assert out.size == (703, 681)
    assert_image_similar(out, first, epsilon=1.0)


@pytest.mark.parametrize("fmt", ["BMP", "TIFF"])
def test_bmp_and_tiff_are_accepted(fmt: str) -> None:
    data = encode(Image.new("RGB", (200, 100), (1, 2, 3)), fmt)
    assert gray_1024(data).size == (1024, 768)


def test_over_the_pixel_limit_is_refused_from_the_header() -> None:
    data = encode(Image.new("L", (300, 200)), "PNG")
    with pytest.raises(ImageTooLarge, match=r"300x200 .* over the limit of 0\.1 megapixels"):
        scale(data, Limits(max_bytes=1 << 20, max_pixels=50_000))


def test_over_the_byte_limit_is_refused() -> None:
    with pytest.raises(ImageTooLarge, match="over the limit of 1000 bytes"):
        scale(b"x" * 1001, Limits(max_bytes=1000, max_pixels=1000))


def test_empty_input_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="empty"):
        scale(b"")


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"target": (0, 768)}, "for Stretch\nwidth"),
        ({"quality": 0}, "for ImageOutput\nquality"),
        ({"output_format": "gif"}, "for ImageOutput\nformat"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(settings: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        default_profile(**settings)  # type: ignore[arg-type]
