"""Every metric family appears with its labels after a request, and counts what happened."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from imagescaler.grpc_runtime.server import RunningServer
from tests.support.gateway import GatewayThread
from tests.support.images import shared_image
from tests.support.metrics import Samples, scrape, value


class System:
    def __init__(self, image: RunningServer, api: RunningServer, gateway: GatewayThread) -> None:
        self.image, self.api, self.gateway = image, api, gateway

    def scrape_all(self) -> tuple[Samples, Samples, Samples]:
        return (
            scrape(f"http://127.0.0.1:{self.image.metrics_port}/metrics"),
            scrape(f"http://127.0.0.1:{self.api.metrics_port}/metrics"),
            scrape(self.gateway.metrics_url),
        )


@pytest.fixture
def system(
    start_image_service: Callable[..., RunningServer],
    start_api: Callable[..., RunningServer],
    start_gateway: Callable[..., GatewayThread],
) -> System:
    """A fresh system per test, so counts start at zero."""
    image = start_image_service()
    api = start_api(image_service=f"127.0.0.1:{image.port}")
    gateway = start_gateway(api=f"127.0.0.1:{api.port}", rate_limit="3/minute")
    return System(image, api, gateway)


def upload(system: System, token: str, data: bytes) -> httpx.Response:
    with system.gateway.client(headers={"Authorization": f"Bearer {token}"}) as client:
        return client.post("/v1/scale", files={"file": ("p.jpg", data, "image/jpeg")})


def test_one_upload_moves_every_counter_by_one(system: System, token: str) -> None:
    assert upload(system, token, shared_image("hotdog_1400x1316.jpg")).status_code == 200
    image, api, gateway = system.scrape_all()
    process = {"grpc_service": "imagescaler.image.v1.ImageService", "grpc_method": "Preprocess"}
    scale = {"grpc_service": "imagescaler.ImageScaler", "grpc_method": "ScaleImage"}
    assert value(image, "grpc_server_started_total", **process) == 1
    assert value(image, "grpc_server_handled_total", **process, grpc_code="OK") == 1
    assert value(image, "grpc_server_handling_seconds_count", **process) == 1
    assert value(image, "grpc_server_in_flight", **process) == 0
    assert value(api, "grpc_server_handled_total", **scale, grpc_code="OK") == 1
    assert value(api, "grpc_client_handled_total", **process, grpc_code="OK") == 1
    assert value(api, "grpc_client_handling_seconds_count", **process) == 1
    assert (
        value(image, "imagescaler_input_format_total", service="image-service", format="JPEG") == 1
    )
    assert value(image, "imagescaler_input_bytes_count", service="image-service") == 1
    assert value(image, "imagescaler_input_megapixels_sum") == pytest.approx(1400 * 1316 / 1e6)
    assert value(image, "imagescaler_output_bytes_count") == 1
    for stage in ("decode", "colour", "resize", "encode"):
        assert value(image, "imagescaler_stage_seconds_count", stage=stage) == 1, stage
    assert value(api, "imagescaler_scaling_decisions_total", scaled="true") == 1
    assert (
        value(gateway, "http_requests_total", route="/v1/scale", method="POST", status_class="2xx")
        == 1
    )
    assert value(gateway, "http_request_duration_seconds_count", route="/v1/scale") == 1
    assert value(gateway, "grpc_client_handled_total", **scale, grpc_code="OK") == 1


def test_a_tensor_profile_records_the_same_figures(system: System, token: str) -> None:
    """One pipeline, one set of metrics: /v1/preprocess is seen as ScaleImage is."""
    with system.gateway.client(headers={"Authorization": f"Bearer {token}"}) as client:
        reply = client.post(
            "/v1/preprocess",
            params={"profile": "yolo-640"},
            files={"file": ("p.jpg", shared_image("hotdog_1400x1316.jpg"), "image/jpeg")},
        )
    assert reply.status_code == 200, reply.text
    image, _, _ = system.scrape_all()
    for stage in ("decode", "colour", "resize", "tensor"):
        assert value(image, "imagescaler_stage_seconds_count", stage=stage) == 1, stage
    assert value(image, "imagescaler_input_bytes_count", service="image-service") == 1
    assert value(image, "imagescaler_output_bytes_sum") == 3 * 640 * 640 * 4


def test_refused_inputs_are_counted_by_reason(system: System, token: str) -> None:
    assert upload(system, token, shared_image("formats/test.pdf")).status_code == 415
    _, api, gateway = system.scrape_all()
    scale = {"grpc_service": "imagescaler.ImageScaler", "grpc_method": "ScaleImage"}
    assert value(api, "grpc_server_rejected_total", **scale, reason="unsupported_image") == 1
    assert value(api, "grpc_server_handled_total", **scale, grpc_code="INVALID_ARGUMENT") == 1
    assert value(gateway, "http_requests_total", route="/v1/scale", status_class="4xx") == 1


def test_margin_decision_is_counted(system: System, token: str) -> None:
    from PIL import Image

    from tests.support.images import encode

    within = encode(Image.new("RGB", (1010, 760)), "JPEG")
    assert upload(system, token, within).status_code == 200
    _, api, _ = system.scrape_all()
    assert value(api, "imagescaler_scaling_decisions_total", scaled="false") == 1
    assert value(api, "imagescaler_scaling_decisions_total", scaled="true") == 0


def test_gateway_counts_auth_failures_and_rate_limits(system: System) -> None:
    with system.gateway.client(headers={"Authorization": "Bearer forged"}) as client:
        statuses = [client.post("/v1/scale").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    _, _, gateway = system.scrape_all()
    assert value(gateway, "gateway_auth_failures_total", reason="malformed_token") == 3
    assert value(gateway, "gateway_rate_limited_total", route="/v1/scale") == 1


def test_routes_are_labelled_by_template_never_raw_path(system: System) -> None:
    with system.gateway.client() as client:
        for path in ("/no/such/1", "/no/such/2", "/static/app.js"):
            client.get(path)
    _, _, gateway = system.scrape_all()
    routes = {
        dict(labels).get("route") for (name, labels) in gateway if name == "http_requests_total"
    }
    assert routes <= {"unmatched", "/static", "/v1/scale"}
    assert value(gateway, "http_requests_total", route="unmatched") == 2
