"""Hostile images: refused with INVALID_ARGUMENT or RESOURCE_EXHAUSTED naming the problem."""

from __future__ import annotations

import io
import struct
import warnings
import zlib

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import GifImagePlugin, Image

from imagescaler.imaging.formats import Limits, configure_pillow
from imagescaler.runtime.errors import CorruptImage, ImageTooLarge, ServiceError, UnsupportedImage
from tests.support.images import encode, open_bytes, shared_image
from tests.support.scaling import encoded, scale
from tests.support.servers import ScaleClient

LIMITS = Limits(max_bytes=25 << 20, max_pixels=50_000_000)


def png_claiming(width: int, height: int) -> bytes:
    """A 60-byte PNG whose header claims width x height."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small real JPEG with its frame header rewritten to claim width x height."""
    data = bytearray(encode(Image.new("L", (16, 16), 128), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.mark.parametrize(
    "bomb", [png_claiming(30000, 30000), jpeg_claiming(65000, 65000)], ids=["png", "jpeg"]
)
def test_pixel_bombs_are_refused_from_the_header(
    bomb: bytes, client: ScaleClient, no_decode: list[str]
) -> None:
    assert len(bomb) < 1000
    with pytest.raises(ImageTooLarge, match=r"over the limit of 50\.0 megapixels"):
        scale(bomb, LIMITS)
    assert no_decode == []
    error = client.error(bomb)
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "megapixels" in (error.details() or "")


def test_pillows_bomb_warning_is_an_error() -> None:
    """Between Pillow's limit and twice it, Pillow only warns; the services make it an error."""
    saved_limit, saved_filters = Image.MAX_IMAGE_PIXELS, warnings.filters[:]
    try:
        warnings.resetwarnings()
        configure_pillow(10_000)
        data = encode(Image.new("L", (150, 100)), "PNG")  # 15 000 pixels: a warning, not an error
        with pytest.raises(ImageTooLarge, match=r"the image is 0\.0 megapixels, over the limit"):
            scale(data, Limits(1 << 20, 1_000_000))
    finally:
        Image.MAX_IMAGE_PIXELS = saved_limit
        warnings.filters[:] = saved_filters


def test_a_thousand_frames_cost_one_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    """Up to the frame limit (1,000; more is refused from the container, test_cpu_bombs.py)
    only the first frame is decoded: no later frame is ever sought."""
    frames = [Image.new("L", (8, 8), n % 256) for n in range(1000)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    sought: list[int] = []
    real_seek = GifImagePlugin.GifImageFile.seek
    monkeypatch.setattr(
        GifImagePlugin.GifImageFile,
        "seek",
        lambda image, frame: sought.append(frame) or real_seek(image, frame),
    )
    result = scale(buffer.getvalue(), LIMITS)
    assert all(frame == 0 for frame in sought), sought[:5]
    assert open_bytes(encoded(result)).getpixel((10, 10)) == 0


@pytest.mark.parametrize("size", [(20000, 1), (1, 20000), (1, 1)])
def test_extreme_shapes_are_processed(size: tuple[int, int]) -> None:
    result = scale(encode(Image.new("L", size, 200), "PNG"), LIMITS)
    assert open_bytes(encoded(result)).size == (1024, 768)


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "PostScript/EPS"),
        (b"8BPS\x00\x01" + b"\x00" * 40, "Photoshop PSD"),
        (shared_image("formats/test.pdf"), "PDF"),
        (shared_image("formats/test.svg"), "SVG"),
        (b"<!DOCTYPE html><html><body>not a photo</body></html>", "HTML"),
        (b"GIF89a", "GIF data is damaged or truncated"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 20, "JPEG data is damaged or truncated"),
    ],
)
def test_formats_outside_the_allow_list_are_named(data: bytes, named: str) -> None:
    with pytest.raises(ServiceError) as caught:
        scale(data, LIMITS)
    assert named in caught.value.message
    expected = CorruptImage if "damaged" in named else UnsupportedImage
    assert isinstance(caught.value, expected)


SMALL_JPEG = encode(
    Image.open(io.BytesIO(shared_image("hotdog_1400x1316.jpg"))).resize((160, 150)),
    "JPEG",
    quality=85,
)
SMALL_PNG = shared_image("rgba_320x240.png")


# A mutation recipe of fixed shape: positions are taken modulo the length when applied, so
# what hypothesis draws never depends on what it drew before.
MUTATIONS = st.lists(
    st.tuples(
        st.sampled_from(["flip", "delete", "insert", "truncate"]),
        st.integers(0, 1 << 20),
        st.integers(1, 64),
        st.binary(min_size=1, max_size=64),
    ),
    min_size=1,
    max_size=8,
)


def mutate(original: bytes, recipe: list[tuple[str, int, int, bytes]]) -> bytes:
    data = bytearray(original)
    for kind, where, size, payload in recipe:
        position = where % len(data)
        if kind == "flip":
            data[position] = payload[0]
        elif kind == "delete":
            del data[position : position + size]
        elif kind == "insert":
            data[position:position] = payload
        else:
            del data[max(1, position) :]
        if not data:
            data = bytearray(b"\0")
    return bytes(data)


@pytest.mark.parametrize("original", [SMALL_JPEG, SMALL_PNG], ids=["jpeg", "png"])
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(recipe=MUTATIONS)
def test_mutated_images_only_ever_raise_our_typed_errors(
    original: bytes, recipe: list[tuple[str, int, int, bytes]]
) -> None:
    mutated = mutate(original, recipe)
    try:
        result = scale(mutated, LIMITS)
    except ServiceError as error:
        assert error.message
        return
    assert open_bytes(encoded(result)).size == (1024, 768)


def test_service_stays_healthy_after_hostile_inputs(client: ScaleClient) -> None:
    for data in (png_claiming(30000, 30000), b"\xff\xd8\xff" + b"\0" * 100, b"", b"x"):
        assert client.error(data).code() in (
            grpc.StatusCode.INVALID_ARGUMENT,
            grpc.StatusCode.RESOURCE_EXHAUSTED,
        )
    assert open_bytes(client.scale(shared_image("hotdog_1400x1316.jpg"))).size == (1024, 768)
