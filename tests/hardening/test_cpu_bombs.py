"""Small files that cost much CPU are refused from a scan of their container, in milliseconds.

The files are issue 16's, rebuilt (tests/support/hostile_files.py). Before the structural
limits, the 7,000-scan JPEG took 22 s of CPU, the 1M-strip TIFF 7.6 s and the RLE BMP 5.2 s.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable

import grpc
import pytest
from PIL import Image

from imagescaler.imaging.formats import Limits
from imagescaler.imaging.inspection import inspect_image
from imagescaler.imaging.structure import StructureLimits, check_structure
from imagescaler.runtime.errors import CorruptImage, ImageTooComplex
from tests.support import hostile_files as hostile
from tests.support.gateway import GatewayThread
from tests.support.images import encode, open_bytes, shared_image
from tests.support.scaling import encoded, scale
from tests.support.servers import ScaleClient

LIMITS = Limits(max_bytes=25 << 20, max_pixels=50_000_000)
ANIMATED = "animated_703x681_24frames.gif"


def animated_webp(frames: int) -> bytes:
    images = [Image.new("L", (1, 1), n % 256) for n in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, "WEBP", save_all=True, append_images=images[1:], lossless=True)
    return buffer.getvalue()


BOMBS: dict[str, tuple[Callable[[], bytes], str]] = {
    "jpeg-7000-scans": (
        lambda: hostile.jpeg_scan_bomb(7000),
        "more than 100 progressive JPEG scans; the limit is 100",
    ),
    "jpeg-junk-then-2000-scans": (
        lambda: hostile.with_junk_after_app0(hostile.jpeg_scan_bomb(2000)),
        "more than 100 progressive JPEG scans; the limit is 100",
    ),
    "tiff-strips-behind-5000-tags": (
        lambda: hostile.tiff_with_strips(300_000, padding_tags=5000),
        "5008 entries in a TIFF directory; the limit is 4096",
    ),
    "tiff-1M-strips": (
        lambda: hostile.tiff_with_strips(1_000_000),
        "1000000 TIFF strips; the limit is 65536",
    ),
    "bmp-rle8-49MP": (
        lambda: hostile.bmp_rle8_end_of_lines(7000, 7000),
        "RLE8-compressed BMP of 49.0 megapixels",
    ),
    "png-1M-chunks": (
        lambda: hostile.png_with_idat_chunks(1_000_000),
        "more than 65536 PNG chunks",
    ),
    "webp-1001-frames": (lambda: animated_webp(1001), "more than 1000 animation frames"),
    "gif-1001-frames": (
        lambda: hostile.gif_of_tiny_parts(frames=1001),
        "more than 1000 animation frames",
    ),
    "gif-8M-sub-blocks": (  # round 3: Inspect walked them in Python, 2.3 s for 24 MB
        lambda: hostile.gif_of_tiny_parts(sub_blocks=8_000_000),
        "more than 500000 GIF data sub-blocks",
    ),
}


@pytest.fixture(scope="module", params=sorted(BOMBS))
def bomb(request: pytest.FixtureRequest) -> tuple[bytes, str]:
    build, message = BOMBS[request.param]
    return build(), message


def test_bombs_are_refused_before_any_decode(bomb: tuple[bytes, str], no_decode: list[str]) -> None:
    data, message = bomb
    with pytest.raises(ImageTooComplex, match=message):
        scale(data, LIMITS)
    assert no_decode == [], "the refusal must not decode"


def test_bombs_are_refused_over_grpc(bomb: tuple[bytes, str], client: ScaleClient) -> None:
    data, message = bomb
    error = client.error(data)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message.split(";")[0] in (error.details() or "")
    assert ("imagescaler-reason", "image_too_complex") in (error.trailing_metadata() or ())


def test_bombs_are_422_at_the_gateway(
    bomb: tuple[bytes, str], gateway: GatewayThread, token: str
) -> None:
    data, message = bomb
    with gateway.client(headers={"Authorization": f"Bearer {token}"}) as http:
        reply = http.post("/v1/scale", files={"file": ("bomb", data)})
    assert reply.status_code == 422
    assert reply.json()["error"] == "image_too_complex"
    assert message.split(";")[0] in reply.json()["detail"]


def test_bombs_are_refused_by_inspect(bomb: tuple[bytes, str], no_decode: list[str]) -> None:
    data, message = bomb
    with pytest.raises(ImageTooComplex, match=message):
        inspect_image(data, LIMITS)
    assert no_decode == [], "the refusal must not decode"


def test_inspect_counts_gif_frames_as_pillow_does() -> None:
    for data in (hostile.gif_of_tiny_parts(frames=1000), shared_image(ANIMATED)):
        with Image.open(io.BytesIO(data)) as image:
            assert inspect_image(data, LIMITS).frames == image.n_frames


@pytest.mark.parametrize(
    "data",
    [
        hostile.jpeg_scan_bomb(90, side=512),
        hostile.tiff_with_strips(2000),
        hostile.bmp_rle8_end_of_lines(1000, 1000),
        hostile.png_with_idat_chunks(1000),
        animated_webp(50),
    ],
    ids=["jpeg-100-scans", "tiff-2000-strips", "bmp-rle8-1MP", "png-1000-chunks", "webp-50"],
)
def test_files_within_the_limits_are_processed(data: bytes) -> None:
    result = scale(data, LIMITS)
    assert open_bytes(encoded(result)).size == (1024, 768)


def test_the_scan_limit_is_a_setting() -> None:
    data = hostile.jpeg_scan_bomb(30, side=256)
    check_structure(data, StructureLimits(max_jpeg_scans=100))
    with pytest.raises(ImageTooComplex, match="more than 20 progressive JPEG scans"):
        check_structure(data, StructureLimits(max_jpeg_scans=20))


def test_a_sequential_jpeg_with_a_repeated_scan_is_refused_by_libjpeg() -> None:
    """The scan walk stops after a sequential JPEG's first scan: a second one must fail."""
    data = encode(Image.new("L", (512, 512), 90), "JPEG")
    scan = data[data.index(b"\xff\xda") : -2]
    repeated = data[:-2] + scan * 1000 + b"\xff\xd9"
    started = time.process_time()
    with pytest.raises(CorruptImage):
        scale(repeated, LIMITS)
    assert time.process_time() - started < 1.0


def test_a_scan_marker_inside_metadata_is_not_counted() -> None:
    """Only markers outside segments count: 500 FF DA pairs in a comment are text."""
    data = encode(Image.new("L", (64, 64), 90), "JPEG", progressive=True)
    comment = b"\xff\xda" * 500
    with_comment = data[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
    check_structure(with_comment + data[2:], StructureLimits())
