"""The README's curl examples, run as written against `imagescaler up`."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.support.images import open_bytes
from tests.support.local_system import local_system
from tests.support.paths import ROOT, SHARED_IMAGES

pytestmark = pytest.mark.slow

MARKER = "<!-- tested: tests/test_readme.py runs this block"
PREPROCESSING_MARKER = "<!-- tested: tests/test_readme.py runs these three blocks"
DOCUMENTED_GATEWAY = "127.0.0.1:8000"
DOCUMENTED_API = "127.0.0.1:50051"


def blocks_after(marker: str, count: int) -> list[str]:
    """The first `count` fenced code blocks after `marker`."""
    readme = (ROOT / "README.md").read_text()
    after = readme[readme.index(marker) :]
    found = re.findall(r"```(?:sh|python)\n(.*?)```", after, re.DOTALL)
    assert len(found) >= count
    return found[:count]


def curl_block() -> str:
    return blocks_after(MARKER, 1)[0]


def scratch_checkout(tmp_path: Path) -> Path:
    """A folder laid out like the checkout (.venv, ../shared), so relative paths hold."""
    work = tmp_path / "imagescaler"
    work.mkdir()
    (work / ".venv").symlink_to(ROOT / ".venv")
    (tmp_path / "shared").symlink_to(SHARED_IMAGES.parent)
    return work


def test_readme_curl_examples_work_as_written(tmp_path: Path) -> None:
    """Run from a folder laid out like the checkout (.venv, ../shared), so the block's
    relative paths hold and its scaled.jpg lands there, not in the checkout."""
    work = scratch_checkout(tmp_path)
    # The dev state where `make run` keeps it: the block's `imagescaler token` reads it there.
    with local_system(work / ".imagescaler" / "dev-state.json") as system:
        # Only the port changes, so a developer's own `make run` on :8000 does not collide.
        block = curl_block().replace(DOCUMENTED_GATEWAY, f"127.0.0.1:{system.gateway_port}")
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=work,
        )
    assert result.returncode == 0, result.stderr
    headers = result.stdout.lower()
    assert "content-type: image/jpeg" in headers
    assert "x-image-width: 1024" in headers and "x-image-height: 768" in headers
    assert '"error":"source_refused"' in result.stdout and "loopback" in result.stdout
    image = open_bytes((work / "scaled.jpg").read_bytes())
    assert (image.mode, image.size) == ("L", (1024, 768))


def run_in(
    work: Path, command: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=work,
        env={**os.environ, **env} if env else None,
    )


def test_readme_preprocessing_examples_work_as_written(tmp_path: Path) -> None:
    work = scratch_checkout(tmp_path)
    curl, grpc_client, library = blocks_after(PREPROCESSING_MARKER, 3)
    python = str(ROOT / ".venv" / "bin" / "python")
    with local_system(work / ".imagescaler" / "dev-state.json") as system:
        gateway = f"127.0.0.1:{system.gateway_port}"
        shell = run_in(
            work, ["bash", "-euo", "pipefail", "-c", curl.replace(DOCUMENTED_GATEWAY, gateway)]
        )
        client = run_in(
            work,
            [python, "-c", grpc_client.replace(DOCUMENTED_API, f"127.0.0.1:{system.api_port}")],
        )
    assert shell.returncode == 0, shell.stderr
    assert '"orientation":6' in shell.stdout.replace(
        " ", ""
    ) and '"upright_size":[3024,4032]' in shell.stdout.replace(" ", "")
    assert "(3, 224, 224)" in shell.stdout and "[0.0, 0.0, 3024.0, 4032.0]" in shell.stdout
    assert client.returncode == 0, client.stderr
    assert "yolo-640@1#" in client.stdout and "(3, 640, 640)" in client.stdout
    assert "(0.0, 0.0), (3024.0, 4032.0)" in client.stdout and "[3024, 4032]" in client.stdout
    local = run_in(work, [python, "-c", library])
    assert local.returncode == 0, local.stderr
    assert "imagenet-224@1#" in local.stdout and "(3, 224, 224)" in local.stdout


def test_readme_batch_example_works_as_written(tmp_path: Path) -> None:
    work = scratch_checkout(tmp_path)
    (block,) = blocks_after("<!-- tested: tests/test_readme.py runs this batch block", 1)
    first = run_in(work, ["bash", "-euo", "pipefail", "-c", block])
    assert first.returncode == 1, first.stdout + first.stderr  # the truncated JPEG is refused
    assert "written        34" in first.stdout and "left out" in first.stdout
    errors = (work / "shards" / "errors.jsonl").read_text()
    assert "truncated_1680x1050_jpg" in errors and "formats/test_heic" not in errors
    again = run_in(work, ["bash", "-euo", "pipefail", "-c", block])
    assert "written         0" in again.stdout and "skipped        34" in again.stdout
    loader, hugging_face = blocks_after(
        "<!-- tested: tests/test_readme.py runs these two blocks after the batch block", 2
    )
    python = str(work / ".venv" / "bin" / "python")
    read = run_in(work, [python, "-c", loader])
    assert read.returncode == 0, read.stderr
    assert re.search(
        r"^\S+_(jpg|png|gif|webp|heic|avif|jxl) \(3, 224, 224\) float32$", read.stdout, re.M
    ), read.stdout
    offline = {"HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"}
    datasets = run_in(work, [python, "-c", hugging_face], env=offline)
    assert datasets.returncode == 0, datasets.stderr
    assert "(3, 224, 224)" in datasets.stdout


def test_readme_profiles_example_works_as_written(tmp_path: Path) -> None:
    work = scratch_checkout(tmp_path)
    (block,) = blocks_after("<!-- tested: tests/test_readme.py runs this profiles block", 1)
    result = run_in(work, ["bash", "-euo", "pipefail", "-c", block])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "phone_4032x3024_exif6.jpg: 0.000 levels" in result.stdout
    assert "within the bound of 1" in result.stdout
    assert 'rule = "edges"' in (work / "my-profiles.toml").read_text()
