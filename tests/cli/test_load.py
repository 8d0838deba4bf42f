"""`imagescaler load` against the local system: a ramp, a report, a PNG, counts that add up."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from tests.support.local_system import IMAGESCALER, local_system
from tests.support.paths import ROOT, SHARED_IMAGES

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("mode", ["rest-concurrency", "grpc-rate"])
def test_a_short_ramp_completes_with_report_plot_and_json(tmp_path: Path, mode: str) -> None:
    unlimited = {"IMAGESCALER_GATEWAY_RATE_LIMIT": "100000/minute"}
    with local_system(tmp_path / "dev-state.json", unlimited) as system:
        if mode == "rest-concurrency":
            target = [
                "--rest",
                f"http://127.0.0.1:{system.gateway_port}",
                "--concurrency",
                "3",
                "--token",
                token_for(tmp_path / "dev-state.json"),
            ]
        else:
            target = ["--grpc", f"127.0.0.1:{system.api_port}", "--rate", "8"]
        result = subprocess.run(
            [
                *IMAGESCALER,
                "load",
                *target,
                "--warmup",
                "1",
                "--ramp-up",
                "2",
                "--hold",
                "2",
                "--ramp-down",
                "1",
                "--image",
                str(SHARED_IMAGES / "hotdog_1400x1316.jpg"),
                "--plot",
                str(tmp_path / "load.png"),
                "--json",
                str(tmp_path / "load.json"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=ROOT,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ramp-up" in result.stderr and "p99" in result.stderr  # live progress
    summary = json.loads((tmp_path / "load.json").read_text())
    assert summary["requests"] > 10
    assert summary["ok"] + summary["errors"] == summary["requests"]
    assert sum(summary["errors_by_status"].values()) == summary["errors"]
    assert sum(summary["per_second"]["requests"]) == summary["requests"]
    assert summary["errors"] == 0
    assert None not in summary["latency_ms"].values()
    assert f"requests {summary['requests']}" in result.stdout
    with Image.open(tmp_path / "load.png") as plot:
        assert plot.format == "PNG" and plot.width > 400


def token_for(state: Path) -> str:
    from rest_gateway.identity import token_issuer
    from rest_gateway.settings import GatewaySettings

    return token_issuer(GatewaySettings(dev_state_file=state)).issue("load-test").access_token


def test_a_throttled_run_is_warned_about_and_fails(tmp_path: Path) -> None:
    """Against `up` with its default 60/minute: the README's load run, as a user first meets it."""
    with local_system(tmp_path / "dev-state.json") as system:
        result = subprocess.run(
            [
                *IMAGESCALER, "load", "--rest", f"http://127.0.0.1:{system.gateway_port}",
                "--token", token_for(tmp_path / "dev-state.json"), "--concurrency", "2",
                "--warmup", "1", "--ramp-up", "1", "--hold", "2", "--ramp-down", "1",
                "--image", str(SHARED_IMAGES / "hotdog_1400x1316.jpg"),
                "--plot", str(tmp_path / "load.png"),
            ],
            capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
        )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "warning: the gateway allows 60 requests" in result.stderr
    assert "up --rate-limit" in result.stderr
    assert "FAILED:" in result.stderr and "over --max-error-ratio 1.0%" in result.stderr
    assert "HTTP 429" in result.stdout
