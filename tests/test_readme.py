"""The README's curl examples, run as written against `imagescaler up`."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.support.images import open_bytes
from tests.support.local_system import local_system
from tests.support.paths import ROOT, SHARED_IMAGES

pytestmark = pytest.mark.slow

MARKER = "<!-- tested: tests/test_readme.py"
DOCUMENTED_GATEWAY = "127.0.0.1:8000"


def curl_block() -> str:
    readme = (ROOT / "README.md").read_text()
    after = readme[readme.index(MARKER) :]
    match = re.search(r"```sh\n(.*?)```", after, re.DOTALL)
    assert match is not None
    return match.group(1)


def test_readme_curl_examples_work_as_written(tmp_path: Path) -> None:
    """Run from a folder laid out like the checkout (.venv, ../shared), so the block's
    relative paths hold and its scaled.jpg lands there, not in the checkout."""
    work = tmp_path / "imagescaler"
    work.mkdir()
    (work / ".venv").symlink_to(ROOT / ".venv")
    (tmp_path / "shared").symlink_to(SHARED_IMAGES.parent)
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
