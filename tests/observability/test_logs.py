"""One JSON log line per request on every service, all with the gateway's request id."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from rest_gateway.identity import token_issuer
from rest_gateway.settings import GatewaySettings
from tests.support.images import shared_image
from tests.support.local_system import local_system

pytestmark = pytest.mark.slow

JSON_LOGS = {f"IMAGESCALER_{s}_LOG_FORMAT": "json" for s in ("IMAGE", "API", "GATEWAY")}


def test_the_request_id_appears_in_the_log_lines_of_all_three_services(tmp_path: Path) -> None:
    state = tmp_path / "dev-state.json"
    with local_system(state, JSON_LOGS) as system:
        token = token_issuer(GatewaySettings(dev_state_file=state)).issue("logs").access_token
        reply = httpx.post(
            f"http://127.0.0.1:{system.gateway_port}/v1/scale",
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "trace-4711"},
            files={"file": ("p.jpg", shared_image("hotdog_1400x1316.jpg"), "image/jpeg")},
            timeout=30,
        )
        assert reply.status_code == 200
        system.service.stop()  # and its reader has taken the last lines
        output = system.output
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    traced = {line["service"]: line for line in lines if line.get("request_id") == "trace-4711"}
    assert set(traced) == {"image-service", "api", "gateway"}, output[-3000:]
    assert traced["gateway"]["route"] == "/v1/scale" and traced["gateway"]["status"] == 200
    assert traced["gateway"]["size_out"] == "1024x768"
    assert traced["api"]["method"] == "imagescaler.ImageScaler/ScaleImage"
    assert traced["api"]["size_in"] == "1400x1316" and traced["api"]["size_out"] == "1024x768"
    assert traced["image-service"]["status"] == "OK"
    for line in traced.values():
        assert line["duration_ms"] > 0 and line["bytes_in"] > 0 and line["bytes_out"] > 0
