"""What a new user meets at the gateway: security headers, Retry-After only where it means
something, and errors that say the configured limit, the host, and the problem once."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.support.gateway import GatewayThread
from tests.support.images import shared_image

PHOTO = ("p.jpg", shared_image("hotdog_1400x1316.jpg"), "image/jpeg")


@pytest.mark.parametrize("path", ["/", "/static/app.js", "/healthz", "/openapi.json"])
def test_every_answer_carries_the_security_headers(gateway: GatewayThread, path: str) -> None:
    with gateway.client() as client:
        headers = client.get(path).headers
    policy = headers["content-security-policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"


def test_the_docs_keep_their_inline_start_but_load_nothing_from_elsewhere(
    gateway: GatewayThread,
) -> None:
    with gateway.client() as client:
        policy = client.get("/docs").headers["content-security-policy"]
    assert "'unsafe-inline'" in policy and "http" not in policy.replace("https:", "")
    assert "frame-ancestors 'none'" in policy


def test_metrics_are_not_served_on_the_public_port(gateway: GatewayThread) -> None:
    with gateway.client() as client:
        assert client.get("/metrics").status_code == 404
    assert "http_requests_total" in httpx.get(gateway.metrics_url, timeout=5).text


def test_the_docs_do_not_keep_the_token_in_local_storage(gateway: GatewayThread) -> None:
    with gateway.client() as client:
        page = client.get("/docs").text
    assert '"persistAuthorization": false' in page


def test_retry_after_only_on_429_and_503(
    start_gateway: Callable[..., GatewayThread], token: str
) -> None:
    limited = start_gateway(rate_limit="1/minute")
    with limited.client(headers={"Authorization": f"Bearer {token}"}) as http:
        ok = http.post("/v1/scale", files={"file": PHOTO})
        refused = http.post("/v1/scale", files={"file": PHOTO})
    assert ok.status_code == 200 and "retry-after" not in ok.headers
    assert "x-ratelimit-limit" in ok.headers  # the rate headers stay
    assert refused.status_code == 429 and refused.headers["retry-after"].isdigit()
    down = start_gateway(api="127.0.0.1:9")
    with down.client() as client:
        ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.headers["retry-after"].isdigit()


def test_an_oversized_upload_names_the_configured_limit(
    start_gateway: Callable[..., GatewayThread], token: str
) -> None:
    small = start_gateway(max_image_bytes=4096)
    with small.client(headers={"Authorization": f"Bearer {token}"}) as http:
        reply = http.post("/v1/scale", files={"file": PHOTO})
    assert reply.status_code == 413
    assert reply.json()["detail"] == "the upload is over the limit of 4096 bytes"


def test_a_host_that_does_not_resolve_is_said_plainly(
    start_gateway: Callable[..., GatewayThread], api_private: object, token: str
) -> None:
    gateway = start_gateway(api=f"127.0.0.1:{api_private.port}")  # type: ignore[attr-defined]
    with gateway.client(headers={"Authorization": f"Bearer {token}"}) as http:
        reply = http.post("/v1/scale", json={"url": "http://no-such-host.invalid/a.jpg"})
    assert reply.status_code == 422 and reply.json()["error"] == "download_failed"
    assert reply.json()["detail"] == "could not resolve host no-such-host.invalid"


def test_an_unsupported_format_lists_the_allowed_ones_once(http: httpx.Client) -> None:
    pdf = http.post(
        "/v1/scale", files={"file": ("x.pdf", shared_image("formats/test.pdf"), "application/pdf")}
    )
    assert pdf.status_code == 415
    detail = pdf.json()["detail"]
    assert detail.startswith("PDF is not accepted") and detail.count("JPEG") == 1


def test_a_file_and_a_url_together_are_refused(http: httpx.Client) -> None:
    reply = http.post("/v1/scale", files={"file": PHOTO}, data={"url": "https://example.com/a.jpg"})
    assert reply.status_code == 400 and reply.json()["error"] == "invalid_request"
    assert "either a file or a url" in reply.json()["detail"]


def test_a_token_request_with_the_wrong_body_is_400_as_documented(gateway: GatewayThread) -> None:
    with gateway.client() as client:
        reply = client.post("/v1/token", json={"username": "alice", "password": "x"})
    assert reply.status_code == 400 and reply.json()["error"] == "invalid_request"


def test_the_openapi_document_gives_each_error_status_its_codes_and_headers(
    gateway: GatewayThread,
) -> None:
    with gateway.client() as client:
        spec = client.get("/openapi.json").json()
    scale = spec["paths"]["/v1/scale"]["post"]["responses"]
    examples = {
        status: set(scale[status]["content"]["application/json"]["examples"])
        for status in ("400", "401", "413", "415", "422", "429", "503")
    }
    assert examples["413"] == {"upload_too_large", "image_too_large"}
    assert examples["401"] >= {"missing_token", "expired_token", "invalid_token"}
    assert examples["415"] != examples["413"]  # not one example everywhere
    assert {"Retry-After", "X-RateLimit-Limit"} <= set(scale["429"]["headers"])
    assert "WWW-Authenticate" in scale["401"]["headers"]
    assert {"X-Image-Width", "Server-Timing", "X-Request-ID", "X-RateLimit-Remaining"} <= set(
        scale["200"]["headers"]
    )


def test_rate_limited_requests_are_logged_one_in_a_hundred(
    start_gateway: Callable[..., GatewayThread], token: str, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = start_gateway(rate_limit="1/minute")
    caplog.set_level("INFO", logger="imagescaler.requests")
    with gateway.client(headers={"Authorization": f"Bearer {token}"}) as http:
        statuses = [http.get("/v1/profiles").status_code for _ in range(251)]
    assert statuses.count(429) == 250
    lines = [
        r
        for r in caplog.records
        if r.name == "imagescaler.requests" and "status=429" in r.getMessage()
    ]
    assert [getattr(r, "rate_limited_so_far", None) for r in lines] == [1, 101, 201]


def test_an_image_over_the_pixel_limit_is_told_its_own_size(http: httpx.Client) -> None:
    """Whichever check fires first (the service's, or Pillow's set to the same limit), the
    refusal says how big the image is."""
    from PIL import Image

    from tests.support.images import encode

    huge = encode(Image.new("L", (8000, 7000)), "PNG")  # 56 MP, a small file
    reply = http.post("/v1/scale", files={"file": ("huge.png", huge, "image/png")})
    assert reply.status_code == 413 and reply.json()["error"] == "image_too_large"
    detail = reply.json()["detail"]  # with width and height when the service's check fires
    assert detail.startswith("the image is ")
    assert detail.endswith("56.0 megapixels, over the limit of 50.0 megapixels")


def test_a_trailing_slash_is_not_redirected_to_the_host_header(http: httpx.Client) -> None:
    reply = http.post("/v1/scale/", headers={"Host": "evil.example"}, files={"file": PHOTO})
    assert reply.status_code == 404 and "location" not in reply.headers


def test_only_the_pages_assets_are_served(gateway: GatewayThread) -> None:
    with gateway.client() as client:
        assert client.get("/static/app.js").status_code == 200
        assert client.get("/static/style.css").status_code == 200
        assert client.get("/static/__init__.py").status_code == 404
        assert client.get("/static/../__init__.py").status_code == 404
