"""docs/preprocessing.md's Hugging Face example, run as written on a folder of photos."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.images import shared_image
from tests.support.paths import ROOT

pytestmark = pytest.mark.slow
MARKER = "<!-- tested: tests/shards/test_docs_examples.py runs this block"


def test_the_datasets_map_example_works_as_written(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "preprocessing.md").read_text()
    (block,) = re.findall(r"```python\n(.*?)```", text[text.index(MARKER) :], re.DOTALL)[:1]
    for label, name in (("dogs", "hotdog_1400x1316.jpg"), ("birds", "bird_1920x1080.jpg")):
        (tmp_path / "photos" / label).mkdir(parents=True)
        (tmp_path / "photos" / label / name).write_bytes(shared_image(name))
    check = "\nprint(len(dataset), dataset.column_names, len(dataset[0]['pixel_values']))\n"
    result = subprocess.run(
        [sys.executable, "-c", block + check],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert "2 ['label', 'pixel_values', 'profile'] 3" in result.stdout, result.stdout
