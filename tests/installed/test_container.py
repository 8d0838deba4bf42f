"""The container image: built from the Dockerfile, lean, non-root, and serving when started
with the arguments and environment the manifests give each service."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from imagescaler.cli.main import COMMANDS
from tests.installed.container import (
    ImageConfig,
    PodRunner,
    build_image,
    ensure_base,
    inspect_image,
    mount_image,
    tools_missing,
    unmount_image,
)
from tests.support.paths import ROOT
from tests.support.pod_specs import container_specs, render
from tests.support.processes import three_services
from tests.support.system_checks import api_token, check_grpc, check_rest, write_gateway_secret

# The first test builds the image: on a new machine, a Debian base by mmdebstrap and a
# podman build, each up to 10 minutes on 2 busy cores; far past the suite's 120 s per test.
pytestmark = [pytest.mark.slow, pytest.mark.system, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[PodRunner]:
    missing = tools_missing()
    if missing:
        message = f"the container test needs {', '.join(missing)} (make test installs them as root)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    work = tmp_path_factory.mktemp("container")
    ensure_base(work)
    build_image(ROOT)
    config = inspect_image()
    (artifacts / "container-image.txt").write_text(f"image size: {config.size / 1e6:.0f} MB\n")
    root = mount_image()
    try:
        yield PodRunner(root, config, write_gateway_secret(work / "jwt"))
    finally:
        unmount_image()


def run(runner: PodRunner, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        runner.command(args, {}), capture_output=True, text=True, timeout=60, check=False
    )


def test_the_image_runs_as_a_user_with_nothing_but_the_venv(runner: PodRunner) -> None:
    config: ImageConfig = runner.config
    assert config.user == "10001:10001" and config.entrypoint == ["imagescaler"]
    assert "probe" in " ".join(config.healthcheck), config.healthcheck
    root = runner.root
    site_packages = "opt/venv/lib/python3.11/site-packages"
    for absent in ("usr/bin/gcc", "usr/bin/cc", "src", f"{site_packages}/tests"):
        assert not (root / absent).exists(), f"the image holds /{absent}"
    assert not list((root / "opt" / "venv").rglob(".git")), "the image holds a .git"
    print(f"image size: {config.size / 1e6:.0f} MB")  # also in the artifacts folder


EVERY_COMMAND = [
    pytest.param([], id="imagescaler"),
    *[pytest.param([c.name], id=c.name) for c in COMMANDS],
]


@pytest.mark.parametrize("command", EVERY_COMMAND)
def test_help_works_in_the_image(runner: PodRunner, command: list[str]) -> None:
    result = run(runner, *command, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: imagescaler" in result.stdout


def test_services_started_as_the_manifests_say_serve_a_photo(runner: PodRunner) -> None:
    specs = {spec.deployment: spec for spec in container_specs(render(ROOT / "manifests" / "base"))}
    commands = {
        name: runner.command(specs[name].args, specs[name].env)
        for name in ("image-service", "api", "gateway")
    }
    # The manifests' own flags come first; the test adds loopback ports and links after them.
    with three_services(commands) as (ports, services):
        check_grpc(ports, api_token(runner.secret))  # the manifests' API asks for tokens
        check_rest(ports)
        probe = run(runner, "probe", "--grpc", f"127.0.0.1:{ports.api}")
        assert probe.returncode == 0, probe.stderr
    logs = "".join(services[0].lines)
    assert '"service": "image-service"' in logs, "the image's JSON logging is not in force"
