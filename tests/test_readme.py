"""The README's curl examples, run as written against `imagescaler up`."""

from __future__ import annotations

import os
import re
import subprocess

from tests.imagescaler.test_cli import IMAGESCALER, free_port, wait_for_line
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
    ports = {name: free_port() for name in ("image", "api", "gateway")}
    env = {
        **os.environ,
        "IMAGESCALER_IMAGE_LISTEN": f"127.0.0.1:{ports['image']}",
        "IMAGESCALER_API_LISTEN": f"127.0.0.1:{ports['api']}",
        "IMAGESCALER_GATEWAY_LISTEN": f"127.0.0.1:{ports['gateway']}",
    }
    # Only the port changes, so a developer's own `make run` on :8000 does not collide.
    block = curl_block().replace(DOCUMENTED_GATEWAY, f"127.0.0.1:{ports['gateway']}")
    scaled = ROOT / "scaled.jpg"
    with subprocess.Popen(
        [*IMAGESCALER, "up"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    ) as up:
        try:
            wait_for_line(up, "Press Ctrl-C to stop.")
            result = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", block],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
                cwd=ROOT,
                env={**os.environ, "PATH": os.environ["PATH"]},
            )
        finally:
            up.terminate()
            up.wait(30)
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
