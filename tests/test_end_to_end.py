"""The ImageScaler API and the image service as real servers on ephemeral loopback ports."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import httpx
import pytest
from PIL import Image

from imagescaler.grpc_runtime.server import RunningServer
from tests.support.images import encode, open_bytes, shared_image
from tests.support.scaling import default_job
from tests.support.servers import LocalHttpServer, Route, ScaleClient

PHOTO = "hotdog_1400x1316.jpg"


def assert_gray_1024(data: bytes) -> None:
    image = open_bytes(data)
    assert (image.format, image.mode, image.size) == ("JPEG", "L", (1024, 768))


def test_photo_bytes_become_1024x768_gray_jpeg(client: ScaleClient) -> None:
    assert_gray_1024(client.scale(shared_image(PHOTO)))


def test_photo_from_url_gives_the_same(
    private_client: ScaleClient, http_server: LocalHttpServer
) -> None:
    data = shared_image(PHOTO)
    http_server.routes["/photo.jpg"] = Route(body=data, headers={"Content-Type": "image/jpeg"})
    from_url = private_client.scale(url=http_server.url("/photo.jpg"))
    assert from_url == private_client.scale(data)
    assert_gray_1024(from_url)


def test_content_wins_over_url(client: ScaleClient) -> None:
    assert_gray_1024(client.scale(shared_image(PHOTO), url="http://169.254.169.254/x.jpg"))


def test_image_within_the_margin_keeps_its_size_and_is_grayscaled(client: ScaleClient) -> None:
    data = encode(Image.new("RGB", (1010, 760), (200, 30, 30)), "JPEG")
    image = open_bytes(client.scale(data))
    assert (image.mode, image.size) == ("L", (1010, 760))


def test_upright_size_decides_the_margin(client: ScaleClient) -> None:
    # Stored 768x1024 with orientation 6 is 1024x768 upright: within the margin, no scaling.
    stored = Image.new("RGB", (768, 1024), (90, 90, 90))
    exif = Image.Exif()
    exif[0x0112] = 6
    image = open_bytes(client.scale(encode(stored, "JPEG", exif=exif.tobytes())))
    assert image.size == (1024, 768)


@pytest.mark.parametrize(
    ("content", "code", "words"),
    [
        (b"", grpc.StatusCode.INVALID_ARGUMENT, "no image"),
        (b"<!doctype html><html>hi</html>", grpc.StatusCode.INVALID_ARGUMENT, "HTML"),
        (b"\x00\x01garbage" * 10, grpc.StatusCode.INVALID_ARGUMENT, "not an image"),
        (shared_image("truncated_1680x1050.jpg"), grpc.StatusCode.INVALID_ARGUMENT, "damaged"),
        (shared_image("formats/test.pdf"), grpc.StatusCode.INVALID_ARGUMENT, "PDF"),
    ],
)
def test_bad_input_gets_a_clear_status(
    client: ScaleClient, content: bytes, code: grpc.StatusCode, words: str
) -> None:
    error = client.error(content)
    assert error.code() == code
    assert words in (error.details() or "")


def test_exactly_at_the_byte_limit_passes(start_api: Callable[..., RunningServer]) -> None:
    data = shared_image(PHOTO)
    assert_gray_1024(ScaleClient(start_api(max_image_bytes=len(data)).port).scale(data))


def test_one_byte_over_the_byte_limit(start_api: Callable[..., RunningServer]) -> None:
    data = shared_image(PHOTO)
    error = ScaleClient(start_api(max_image_bytes=len(data) - 1).port).error(data)
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert f"{len(data)} bytes, over the limit of {len(data) - 1} bytes" in (error.details() or "")


def test_far_over_the_limit_is_stopped_by_the_grpc_ceiling(
    start_api: Callable[..., RunningServer],
) -> None:
    error = ScaleClient(start_api(max_image_bytes=100_000).port).error(shared_image(PHOTO))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in (error.details() or "")


def test_over_the_pixel_limit(start_api: Callable[..., RunningServer]) -> None:
    small = ScaleClient(start_api(max_pixels=1_000_000).port)
    error = small.error(shared_image(PHOTO))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "1400x1316" in (error.details() or "") and "1.0 megapixels" in (error.details() or "")


def test_loopback_url_is_refused_and_no_request_is_made(
    client: ScaleClient, http_server: LocalHttpServer
) -> None:
    http_server.routes["/photo.jpg"] = Route(body=shared_image(PHOTO))
    error = client.error(url=http_server.url("/photo.jpg"))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "loopback" in (error.details() or "")
    assert http_server.requests == []


def test_metadata_address_is_refused(client: ScaleClient) -> None:
    error = client.error(url="http://169.254.169.254/latest/meta-data/")
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "link-local" in (error.details() or "")


def test_non_http_scheme_is_refused(client: ScaleClient) -> None:
    error = client.error(url="ftp://example.com/a.jpg")
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "only http and https" in (error.details() or "")


def test_remote_404_says_the_download_failed(
    private_client: ScaleClient, http_server: LocalHttpServer
) -> None:
    error = private_client.error(url=http_server.url("/missing.jpg"))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "HTTP 404" in (error.details() or "")


def test_unreachable_url_says_the_download_failed(private_client: ScaleClient) -> None:
    error = private_client.error(url="http://127.0.0.1:9/a.jpg")
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "could not download" in (error.details() or "")


def test_image_service_down_is_unavailable(start_api: Callable[..., RunningServer]) -> None:
    orphan = ScaleClient(start_api(image_service="127.0.0.1:9").port)
    error = orphan.error(shared_image(PHOTO))
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert "image service" in (error.details() or "")


def test_server_keeps_serving_after_errors(client: ScaleClient) -> None:
    for content in (b"", b"junk", shared_image("truncated_1680x1050.jpg")):
        client.error(content)
    assert_gray_1024(client.scale(shared_image(PHOTO)))


def test_image_service_reports_what_came_out(image_service: RunningServer) -> None:
    from grpc_stubs import image_service_v1_pb2_grpc as pb_grpc

    job = default_job(
        shared_image("bird_1920x1080.jpg"),
        target=(640, 480),
        resize_mode="fit",
        output_format="webp",
        quality=80,
    )
    with grpc.insecure_channel(f"127.0.0.1:{image_service.port}") as channel:
        reply = pb_grpc.ImageServiceStub(channel).Preprocess(job)
    assert tuple(reply.geometry.output_size) == (640, 360)
    assert tuple(reply.geometry.upright_size) == (1920, 1080)
    assert not reply.geometry.margin_skipped and reply.image.media_type == "image/webp"
    image = open_bytes(reply.image.data)
    assert (image.format, image.size) == ("WEBP", (640, 360))


def test_health_and_reflection(api: RunningServer, image_service: RunningServer) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    for port, service in (
        (api.port, "imagescaler.ImageScaler"),
        (image_service.port, "imagescaler.image.v1.ImageService"),
    ):
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            reply = health.Check(health_pb2.HealthCheckRequest(service=service))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
            reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
            answers = reflection.ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")])
            )
            names = {s.name for s in next(answers).list_services_response.service}
            assert {service, "grpc.health.v1.Health"} <= names


@pytest.mark.parametrize("name", ["formats/test.heic", "formats/test.avif", "formats/test.jxl"])
def test_phone_formats_come_back_1024x768_gray_over_grpc_and_rest(
    client: ScaleClient, http: httpx.Client, name: str
) -> None:
    over_grpc = open_bytes(client.scale(shared_image(name)))
    reply = http.post("/v1/scale", files={"file": (name, shared_image(name), "image/heic")})
    assert reply.status_code == 200, reply.text
    over_rest = open_bytes(reply.content)
    for image in (over_grpc, over_rest):
        assert (image.format, image.mode, image.size) == ("JPEG", "L", (1024, 768))
