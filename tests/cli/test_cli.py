"""The `imagescaler` command as a user runs it: settings, client, and the local system."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest

from imagescaler.cli.settings_table import replace_in, settings_table
from imagescaler.grpc_runtime.server import RunningServer
from imagescaler.imaging.builtin_profiles import BUILTIN_PROFILES
from imagescaler.imaging.preprocess import preprocess
from rest_gateway.identity import token_issuer
from rest_gateway.settings import GatewaySettings
from tests.support.images import open_bytes
from tests.support.local_system import IMAGESCALER, local_system
from tests.support.paths import ROOT, SHARED_IMAGES


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 30, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*IMAGESCALER, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["api", "--margin", "2"], {}, "--margin / IMAGESCALER_API_MARGIN"),
        (["api", "--target-size", "1024"], {}, "--target-size / IMAGESCALER_API_TARGET_SIZE"),
        (["api"], {"IMAGESCALER_API_QUALITY": "0"}, "--quality / IMAGESCALER_API_QUALITY"),
        (["api", "--listen", "nowhere"], {}, "--listen / IMAGESCALER_API_LISTEN"),
        (["image-service", "--workers", "0"], {}, "--workers / IMAGESCALER_IMAGE_WORKERS"),
    ],
)
def test_invalid_settings_refuse_to_start_naming_the_setting(
    args: list[str], env: dict[str, str], named: str
) -> None:
    result = run(*args, env=env)
    assert result.returncode != 0
    assert "invalid configuration" in result.stderr and named in result.stderr


def test_a_bad_profiles_file_stops_the_api_naming_the_profile_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "profiles.toml"
    bad.write_text(
        "[profiles.mine]\nversion = 1\nsize = { rule = 'cover', width = 0, height = 9 }\n"
    )
    result = run("api", "--profiles-file", str(bad))
    assert result.returncode != 0
    assert "--profiles-file / IMAGESCALER_API_PROFILES_FILE" in result.stderr
    assert "profile 'mine': size.cover.width" in result.stderr


def test_a_profile_whose_tensor_cannot_be_sent_stops_the_api(tmp_path: Path) -> None:
    big = tmp_path / "profiles.toml"
    big.write_text(
        "[profiles.big]\nversion = 1\nsize = { rule = 'stretch', width = 4096, height = 4096 }"
        "\noutput = { kind = 'tensor' }\n"
    )
    result = run("api", "--profiles-file", str(big))
    assert result.returncode != 0 and "invalid configuration" in result.stderr
    assert "profile big's tensor can be 201326592 bytes, over the message limit" in result.stderr


def test_readme_configuration_table_matches_the_settings() -> None:
    readme = (ROOT / "README.md").read_text()
    assert replace_in(readme) == readme, (
        "regenerate with: python -m imagescaler.cli.settings_table --write README.md"
    )
    assert settings_table() in readme


def test_client_writes_the_result(api: RunningServer, tmp_path: Path) -> None:
    out = tmp_path / "out.jpg"
    result = run(
        "client",
        str(SHARED_IMAGES / "hotdog_1400x1316.jpg"),
        "-o",
        str(out),
        "--server",
        f"127.0.0.1:{api.port}",
    )
    assert result.returncode == 0, result.stderr
    image = open_bytes(out.read_bytes())
    assert (image.mode, image.size) == ("L", (1024, 768))


def test_client_with_a_profile_writes_the_npy_and_prints_the_geometry(
    api: RunningServer, tmp_path: Path
) -> None:
    photo = SHARED_IMAGES / "phone_4032x3024_exif6.jpg"
    server = f"127.0.0.1:{api.port}"
    result = run("client", str(photo), "--profile", "yolo-640", "--server", server, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    array = np.load(tmp_path / "out.npy")  # named for what came back
    local = preprocess(photo.read_bytes(), BUILTIN_PROFILES["yolo-640"])
    assert np.array_equal(array, local.array)
    assert f"profile {local.profile}" in result.stdout
    geometry = json.loads(result.stdout.split("geometry ", 1)[1].splitlines()[0])
    assert geometry["padding"] == [80, 0, 80, 0] and geometry["orientation"] == 6


def test_client_lists_the_profiles(api: RunningServer) -> None:
    result = run("client", "--list-profiles", "--server", f"127.0.0.1:{api.port}")
    assert result.returncode == 0, result.stderr
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert {"default", "imagenet-224", "clip-224", "yolo-640"} <= set(names)
    assert BUILTIN_PROFILES["yolo-640"].reference in result.stdout


def test_client_prints_the_error_and_fails(api: RunningServer, tmp_path: Path) -> None:
    result = run(
        "client",
        str(SHARED_IMAGES / "formats/test.pdf"),
        "-o",
        str(tmp_path / "x.jpg"),
        "--server",
        f"127.0.0.1:{api.port}",
    )
    assert result.returncode == 1
    assert "INVALID_ARGUMENT" in result.stderr and "PDF" in result.stderr
    assert not (tmp_path / "x.jpg").exists()


@pytest.mark.slow
def test_up_runs_the_system_and_stops_it_on_ctrl_c(tmp_path: Path) -> None:
    with local_system(tmp_path / "dev-state.json") as system:
        assert f"127.0.0.1:{system.api_port}" in system.banner
        assert "sign in as dev /" in system.banner
        out = tmp_path / "out.jpg"
        result = run(
            "client",
            str(SHARED_IMAGES / "hotdog_1400x1316.jpg"),
            "-o",
            str(out),
            "--server",
            f"127.0.0.1:{system.api_port}",
        )
        assert result.returncode == 0, result.stderr
        assert open_bytes(out.read_bytes()).size == (1024, 768)
        system.process.send_signal(signal.SIGINT)
        assert system.process.wait(timeout=30) == 0
    for port in system.ports:
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still served"


def test_probe_reports_ready_and_not_ready(api: RunningServer) -> None:
    ready = run("probe", "--grpc", f"127.0.0.1:{api.port}")
    assert ready.returncode == 0 and "ready" in ready.stderr
    down = run("probe", "--grpc", "127.0.0.1:9", "--timeout", "0.5")
    assert down.returncode == 1 and "not ready" in down.stderr
    http_down = run("probe", "--http", "http://127.0.0.1:9/readyz", "--timeout", "0.5")
    assert http_down.returncode == 1


def test_help_shows_what_each_command_takes_and_its_defaults() -> None:
    token = run("token", "--help").stdout
    assert "--sub" in token and "--dev-state-file" in token and "--rate-limit" not in token
    client = run("client", "--help").stdout
    assert "(default: 127.0.0.1:50051)" in client and "(default: 60.0)" in client
    assert "seconds to wait for an answer" in run("probe", "--help").stdout
    assert "standard input" in run("--help").stdout  # hash-password reads the password there
    assert "(default: 0.01)" in run("load", "--help").stdout


def test_up_takes_the_rate_limit_and_warns_loudly_about_private_urls(tmp_path: Path) -> None:
    allow = {"IMAGESCALER_API_ALLOW_PRIVATE_URLS": "true"}
    state = tmp_path / "dev-state.json"
    with local_system(state, allow, up_args=("--rate-limit", "2/minute")) as system:
        system.service.wait_for(re.compile("WARNING: private URLs are allowed"))
        token = token_issuer(GatewaySettings(dev_state_file=state)).issue("me").access_token
        photo = {"file": ("p.jpg", (SHARED_IMAGES / "hotdog_1400x1316.jpg").read_bytes())}
        with httpx.Client(base_url=f"http://127.0.0.1:{system.gateway_port}", timeout=30) as http:
            statuses = [
                http.post(
                    "/v1/scale", files=photo, headers={"Authorization": f"Bearer {token}"}
                ).status_code
                for _ in range(3)
            ]
    assert statuses == [200, 200, 429]


def test_the_command_line_starts_without_the_imaging_stack() -> None:
    """`imagescaler probe` is the container's health check, run every 10 s: building the parser
    must not load Pillow, NumPy, the HEIF plugin or gRPC (the package root loads lazily)."""
    code = (
        "import sys, imagescaler.cli.main, imagescaler; "
        "print(sorted(m for m in ('PIL', 'numpy', 'pillow_heif', 'grpc') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    assert loaded.stdout.strip() == "[]"
    library = "from imagescaler import preprocess, BUILTIN_PROFILES; print(callable(preprocess))"
    used = subprocess.run(
        [sys.executable, "-c", library], capture_output=True, text=True, check=True, timeout=30
    )
    assert used.stdout.strip() == "True"
