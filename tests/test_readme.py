"""The README's curl examples, run as written against `imagescaler up`."""

from __future__ import annotations

import re
import subprocess

from tests.local_system import local_system
from tests.support import ROOT, open_bytes

MARKER = "<!-- tested: tests/test_readme.py"
DOCUMENTED_GATEWAY = "127.0.0.1:8000"


def curl_block() -> str:
    readme = (ROOT / "README.md").read_text()
    after = readme[readme.index(MARKER) :]
    match = re.search(r"```sh\n(.*?)```", after, re.DOTALL)
    assert match is not None
    return match.group(1)


def test_readme_curl_examples_work_as_written() -> None:
    scaled = ROOT / "scaled.jpg"
    # The default dev state, as beside `make run`: the block's `imagescaler token` reads it.
    with local_system() as system:
        # Only the port changes, so a developer's own `make run` on :8000 does not collide.
        block = curl_block().replace(DOCUMENTED_GATEWAY, f"127.0.0.1:{system.gateway_port}")
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=ROOT,
        )
    try:
        assert result.returncode == 0, result.stderr
        headers = result.stdout.lower()
        assert "content-type: image/jpeg" in headers
        assert "x-image-width: 1024" in headers and "x-image-height: 768" in headers
        assert '"error":"source_refused"' in result.stdout and "loopback" in result.stdout
        image = open_bytes(scaled.read_bytes())
        assert (image.mode, image.size) == ("L", (1024, 768))
    finally:
        scaled.unlink(missing_ok=True)
