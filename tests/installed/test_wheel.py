"""The project installed as users install it: the wheel, no extras, run outside the checkout.

`make test` otherwise runs the editable `.[dev]` install from inside the checkout, which hid
a dev-only dependency that made every container exit at start."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from imagescaler.cli.main import COMMANDS
from tests.support.paths import ROOT
from tests.support.processes import three_services
from tests.support.system_checks import check_grpc, check_rest, write_gateway_secret

# Building the wheel and installing it into a new venv takes minutes on 2 busy cores.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
PACKAGES = ("grpc_stubs", "grpc_api", "image_service", "imagescaler", "rest_gateway", "web")
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "tests", "build", "*.egg-info", "__pycache__", ".*_cache", ".bench",
    ".imagescaler", "test-artifacts", ".hypothesis",
)  # fmt: skip


def run(command: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd,
        env=clean_environment(),
    )  # fmt: skip


def run_python(venv: Path, script: str, cwd: Path) -> str:
    """What `script` printed, run by the venv's Python; it must succeed."""
    result = run([str(venv / "bin" / "python"), "-c", script], cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def clean_environment() -> dict[str, str]:
    """This process's environment without our settings, so only the defaults apply."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("IMAGESCALER_", "PYTHON"))}


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working folder outside the checkout: nothing can be imported from the source tree."""
    return tmp_path_factory.mktemp("elsewhere")


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, outside: Path) -> Iterator[Path]:
    """A fresh virtualenv holding the wheel built from this tree, without extras."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)  # the build writes into its source tree
    built = run([sys.executable, "-m", "build", "--wheel", "--outdir", str(work)], source)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (wheel,) = work.glob("imagescaler-*.whl")
    venv = work / "venv"
    made = run([sys.executable, "-m", "venv", str(venv)], outside)
    assert made.returncode == 0, made.stderr
    installed = run([str(venv / "bin" / "pip"), "install", "--quiet", str(wheel)], outside)
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    yield venv


def test_the_package_comes_from_the_venv_not_the_checkout(venv: Path, outside: Path) -> None:
    script = "import imagescaler; print(imagescaler.__file__)"
    where = run_python(venv, script, outside)
    assert where.startswith(str(venv)), where


def test_every_module_imports_with_runtime_dependencies_only(venv: Path, outside: Path) -> None:
    script = (
        "import importlib, pkgutil, sys\n"
        "failed = []\n"
        f"for top in {PACKAGES!r}:\n"
        "    package = importlib.import_module(top)\n"
        "    for module in pkgutil.walk_packages(package.__path__, top + '.'):\n"
        "        if module.name.endswith('.__main__'):\n"
        "            continue\n"
        "        try:\n"
        "            importlib.import_module(module.name)\n"
        "        except Exception as error:\n"
        "            failed.append(f'{module.name}: {error!r}')\n"
        "print('\\n'.join(failed))\n"
        "sys.exit(1 if failed else 0)\n"
    )
    run_python(venv, script, outside)


EVERY_COMMAND = [
    pytest.param([], id="imagescaler"),
    *[pytest.param([c.name], id=c.name) for c in COMMANDS],
]


@pytest.mark.parametrize("command", EVERY_COMMAND)
def test_help_works_for_every_subcommand(venv: Path, outside: Path, command: list[str]) -> None:
    result = run([str(venv / "bin" / "imagescaler"), *command, "--help"], outside)
    assert result.returncode == 0, result.stderr
    assert "usage: imagescaler" in result.stdout


def test_pngs_decode_through_libvips_without_any_extra(venv: Path, outside: Path) -> None:
    # pyvips and its own libvips come with the package; nothing from the system is needed.
    script = (
        "import io\n"
        "from PIL import Image\n"
        "from imagescaler.imaging.png_decoder import decode_png, libvips_mode\n"
        "buffer = io.BytesIO()\n"
        "Image.new('RGB', (640, 480), (10, 200, 30)).save(buffer, 'PNG')\n"
        "data = buffer.getvalue()\n"
        "mode = libvips_mode(data, Image.open(io.BytesIO(data)))\n"
        "image = decode_png(data, mode, (100, 100))\n"
        "print(mode, image.size, image.getpixel((5, 5)))\n"
    )
    printed = run_python(venv, script, outside)
    assert printed.split() == ["RGB", "(320,", "240)", "(10,", "200,", "30)"]


def test_up_prometheus_finds_its_rules_in_the_installed_package(venv: Path, outside: Path) -> None:
    script = (
        "from pathlib import Path\n"
        "from imagescaler.cli.local_prometheus import ScrapeTargets, write_config\n"
        "targets = ScrapeTargets('127.0.0.1:9101', '127.0.0.1:9102', '127.0.0.1:9103')\n"
        "print(write_config(targets, Path('prometheus')))\n"
    )
    config = Path(run_python(venv, script, outside).strip())
    assert str(venv) in (outside / config).read_text()  # the rules are the installed ones
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (make test installs it as root)")
    checked = run([promtool, "check", "config", str(outside / config)], outside)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 2 rule" in checked.stdout


def test_the_three_services_serve_grpc_rest_page_and_docs(venv: Path, outside: Path) -> None:
    secret = write_gateway_secret(outside / "jwt")
    env = {
        **clean_environment(),
        "IMAGESCALER_GATEWAY_JWT_SIGNING_KEY_FILE": str(secret / "signing-key.pem"),
        "IMAGESCALER_GATEWAY_USERS_FILE": str(secret / "users.json"),
    }
    command = str(venv / "bin" / "imagescaler")
    commands = {name: [command, name] for name in ("image-service", "api", "gateway")}
    with three_services(commands, env, cwd=outside) as (ports, _):
        check_grpc(ports)
        check_rest(ports)
