"""The REST contract through the real gateway, API and image service."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import httpx
import pytest

from imagescaler.grpc_runtime.server import RunningServer
from rest_gateway.errors import from_grpc
from tests.support.gateway import GatewayThread
from tests.support.images import open_bytes, shared_image
from tests.support.servers import LocalHttpServer, Route

PHOTO = "hotdog_1400x1316.jpg"


def upload(client: httpx.Client, data: bytes, name: str = "photo.jpg") -> httpx.Response:
    return client.post("/v1/scale", files={"file": (name, data, "application/octet-stream")})


def assert_error(reply: httpx.Response, status: int, code: str, words: str = "") -> None:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) == {"error", "detail", "request_id"}
    assert body["error"] == code
    assert words in body["detail"]
    assert body["request_id"] == reply.headers["x-request-id"]


def test_upload_returns_the_scaled_image_with_its_headers(http: httpx.Client) -> None:
    reply = upload(http, shared_image(PHOTO))
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "image/jpeg"
    assert int(reply.headers["content-length"]) == len(reply.content)
    assert (reply.headers["x-image-width"], reply.headers["x-image-height"]) == ("1024", "768")
    assert reply.headers["server-timing"].startswith("api;dur=")
    image = open_bytes(reply.content)
    assert (image.format, image.mode, image.size) == ("JPEG", "L", (1024, 768))


def test_url_returns_the_same_image(
    start_gateway: Callable[..., GatewayThread],
    api_private: RunningServer,
    http_server: LocalHttpServer,
    token: str,
) -> None:
    http_server.routes["/p.jpg"] = Route(body=shared_image(PHOTO))
    gateway = start_gateway(api=f"127.0.0.1:{api_private.port}")
    with gateway.client(headers={"Authorization": f"Bearer {token}"}) as client:
        from_url = client.post("/v1/scale", json={"url": http_server.url("/p.jpg")})
        from_upload = upload(client, shared_image(PHOTO))
    assert from_url.status_code == 200, from_url.text
    assert from_url.content == from_upload.content


@pytest.mark.parametrize(
    ("data", "status", "code", "words"),
    [
        (shared_image("formats/test.pdf"), 415, "unsupported_image", "PDF"),
        (b"just some text", 415, "unsupported_image", "text"),
        (shared_image("truncated_1680x1050.jpg"), 422, "corrupt_image", "damaged"),
        (b"", 400, "invalid_request", "no image"),
    ],
)
def test_bad_uploads_map_to_their_status(
    http: httpx.Client, data: bytes, status: int, code: str, words: str
) -> None:
    assert_error(upload(http, data), status, code, words)


def test_body_that_is_neither_multipart_nor_json(http: httpx.Client) -> None:
    reply = http.post("/v1/scale", content=b"abc", headers={"Content-Type": "text/plain"})
    assert_error(reply, 415, "unsupported_media_type", "multipart/form-data")


def test_multipart_without_a_file_field(http: httpx.Client) -> None:
    assert_error(
        http.post("/v1/scale", files={"other": ("a", b"x")}), 400, "invalid_request", "`file`"
    )


def test_invalid_json_body(http: httpx.Client) -> None:
    assert_error(http.post("/v1/scale", json={"link": "x"}), 400, "invalid_request", "JSON")


def test_refused_url_is_403(http: httpx.Client) -> None:
    reply = http.post("/v1/scale", json={"url": "http://169.254.169.254/latest/meta-data/"})
    assert_error(reply, 403, "source_refused", "link-local")


def test_download_failure_is_422(
    start_gateway: Callable[..., GatewayThread],
    api_private: RunningServer,
    http_server: LocalHttpServer,
    token: str,
) -> None:
    gateway = start_gateway(api=f"127.0.0.1:{api_private.port}")
    with gateway.client(headers={"Authorization": f"Bearer {token}"}) as client:
        reply = client.post("/v1/scale", json={"url": http_server.url("/gone.jpg")})
    assert_error(reply, 422, "download_failed", "HTTP 404")


def test_image_over_the_pixel_limit_is_413(
    start_gateway: Callable[..., GatewayThread], start_api: Callable[..., RunningServer], token: str
) -> None:
    small_api = start_api(max_pixels=1_000_000)
    gateway = start_gateway(api=f"127.0.0.1:{small_api.port}")
    with gateway.client(headers={"Authorization": f"Bearer {token}"}) as client:
        assert_error(upload(client, shared_image(PHOTO)), 413, "image_too_large", "megapixels")


def test_api_down_is_503_with_retry_after(
    start_gateway: Callable[..., GatewayThread], token: str
) -> None:
    gateway = start_gateway(api="127.0.0.1:9")
    with gateway.client(headers={"Authorization": f"Bearer {token}"}) as client:
        reply = upload(client, shared_image(PHOTO))
        assert_error(reply, 503, "api_unavailable", "unavailable")
        assert reply.headers["retry-after"].isdigit()
        assert_error(client.get("/readyz"), 503, "api_unavailable")


def test_api_too_slow_is_504(start_gateway: Callable[..., GatewayThread], token: str) -> None:
    gateway = start_gateway(api_timeout=0.001)
    with gateway.client(headers={"Authorization": f"Bearer {token}"}) as client:
        assert_error(upload(client, shared_image(PHOTO)), 504, "api_timeout")


def test_upload_over_the_limit_declared_is_refused_without_reading_it(
    start_gateway: Callable[..., GatewayThread], token: str
) -> None:
    import socket

    gateway = start_gateway(max_image_bytes=100_000)
    with socket.create_connection(("127.0.0.1", gateway.port)) as raw:
        raw.sendall(
            b"POST /v1/scale HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + token.encode()
            + b"\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            + b"Content-Length: 1073741824\r\n\r\n"
        )
        answer = b""
        while chunk := raw.recv(65536):  # the server closes the connection after answering
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"upload_too_large" in answer


def test_health_endpoints(gateway: GatewayThread) -> None:
    with gateway.client() as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").json() == {"status": "ready"}


def test_request_id_is_taken_and_returned(http: httpx.Client) -> None:
    reply = upload(http, b"", "x")
    assert reply.headers["x-request-id"] == reply.json()["request_id"]
    reply = http.post("/v1/scale", content=b"", headers={"X-Request-ID": "trace-123"})
    assert reply.headers["x-request-id"] == "trace-123"
    assert reply.json()["request_id"] == "trace-123"


def test_unknown_route_uses_the_error_shape(http: httpx.Client) -> None:
    assert_error(http.get("/v1/nothing"), 404, "not_found")


def test_openapi_documents_requests_examples_and_errors(gateway: GatewayThread) -> None:
    with gateway.client() as client:
        spec = client.get("/openapi.json").json()
        assert client.get("/docs").status_code == 200
    # The introduction says what the service is now, not only the original scaling.
    intro = spec["info"]["description"]
    assert "one pipeline for training and serving" in intro
    assert all(path in intro for path in ("/v1/preprocess", "/v1/profiles", "/v1/inspect"))
    preprocess = spec["paths"]["/v1/preprocess"]["post"]
    assert next(iter(preprocess["responses"]["200"]["content"])) == "*/*"  # Swagger sends it
    (profile,) = [p for p in preprocess["parameters"] if p["name"] == "profile"]
    assert {"default", "imagenet-224", "yolo-640"} <= set(profile["schema"]["enum"])
    scale = spec["paths"]["/v1/scale"]["post"]
    bodies = scale["requestBody"]["content"]
    assert "multipart/form-data" in bodies and "example" in bodies["application/json"]
    assert {"200", "400", "401", "403", "413", "415", "422", "429", "503", "504"} <= set(
        scale["responses"]
    )
    assert "image/jpeg" in scale["responses"]["200"]["content"]
    assert "example" in spec["components"]["schemas"]["ErrorBody"]
    assert spec["paths"]["/v1/token"]["post"]["requestBody"]["content"].keys() == {
        "application/x-www-form-urlencoded"
    }
    assert "OAuth2PasswordBearer" in spec["components"]["securitySchemes"]


def test_upload_page_is_served(gateway: GatewayThread) -> None:
    with gateway.client() as client:
        page = client.get("/")
        script = client.get("/static/app.js")
    assert page.status_code == 200 and 'id="signin-form"' in page.text
    assert script.status_code == 200 and "/v1/preprocess" in script.text


def test_cors_is_off_by_default_and_on_when_configured(
    gateway: GatewayThread, start_gateway: Callable[..., GatewayThread]
) -> None:
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    with gateway.client() as client:
        assert (
            "access-control-allow-origin"
            not in client.options("/v1/scale", headers=preflight).headers
        )
    with start_gateway(cors_origins="https://app.example").client() as client:
        reply = client.options("/v1/scale", headers=preflight)
    assert reply.headers["access-control-allow-origin"] == "https://app.example"


@pytest.mark.parametrize(
    ("code", "reason", "status"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, "invalid_request", 400),
        (grpc.StatusCode.INVALID_ARGUMENT, "unsupported_image", 415),
        (grpc.StatusCode.INVALID_ARGUMENT, "corrupt_image", 422),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "image_too_large", 413),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "overloaded", 503),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, None, 429),
        (grpc.StatusCode.UNAUTHENTICATED, None, 401),
        (grpc.StatusCode.PERMISSION_DENIED, "source_refused", 403),
        (grpc.StatusCode.FAILED_PRECONDITION, "download_failed", 422),
        (grpc.StatusCode.UNAVAILABLE, None, 503),
        (grpc.StatusCode.DEADLINE_EXCEEDED, None, 504),
        (grpc.StatusCode.INTERNAL, None, 500),
    ],
)
def test_status_table(code: grpc.StatusCode, reason: str | None, status: int) -> None:
    error = from_grpc(code, reason, "detail")
    assert error.status == status
    if status in (429, 503):
        assert "Retry-After" in error.headers
    if status == 401:
        assert error.headers["WWW-Authenticate"] == "Bearer"
    if status == 500:
        assert error.detail != "detail"  # no internals leak


def test_exactly_at_the_byte_limit_passes_every_hop_and_one_over_is_refused(
    start_image_service: Callable[..., RunningServer],
    start_api: Callable[..., RunningServer],
    start_gateway: Callable[..., GatewayThread],
    token: str,
) -> None:
    data = shared_image(
        "phone_4032x3024_exif6.jpg"
    )  # 3.9 MB: over gRPC's 4 MiB default with fields
    limit = len(data)
    service = start_image_service(max_image_bytes=limit)
    api = start_api(max_image_bytes=limit, image_service=f"127.0.0.1:{service.port}")
    gateway = start_gateway(max_image_bytes=limit, api=f"127.0.0.1:{api.port}")
    with gateway.client(headers={"Authorization": f"Bearer {token}"}) as client:
        exact = upload(client, data)
        one_over = upload(client, data + b"\0")  # bytes after the JPEG's end still decode
    assert exact.status_code == 200, exact.text
    assert_error(
        one_over, 413, "image_too_large", f"{limit + 1} bytes, over the limit of {limit} bytes"
    )
