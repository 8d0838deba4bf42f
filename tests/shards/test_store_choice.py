"""How a profile's outputs are stored: one decision (shards.items.choose_store) for batch and
the Ray adapter. Levels are refused where they cannot give the tensor back (SAM pads with 0
after normalising, which no level gives)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from imagescaler.imaging.builtin_profiles import BUILTIN_PROFILES
from imagescaler.shards.items import choose_store
from imagescaler.shards.ray_data import PreprocessImages
from tests.support.images import shared_image


@pytest.mark.parametrize(
    ("profile", "store", "chosen"),
    [
        ("default", None, None),
        ("yolo-640", None, "levels"),
        ("yolo-640", "tensor", "tensor"),
        ("yolo-640", "levels", "levels"),
        ("sam-1024", None, "tensor"),
        ("sam-1024", "tensor", "tensor"),
    ],
)
def test_the_store_chosen(profile: str, store: str | None, chosen: str | None) -> None:
    assert choose_store(BUILTIN_PROFILES[profile], store) == chosen


@pytest.mark.parametrize(
    ("profile", "store", "words"),
    [
        ("sam-1024", "levels", "--store levels cannot hold sam-1024"),
        ("default", "tensor", "gives images"),
    ],
)
def test_a_store_that_cannot_hold_the_outputs_is_refused_by_batch_and_by_ray(
    profile: str, store: str, words: str, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=words):
        PreprocessImages(profile, store=store)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jpg").write_bytes(shared_image("bird_1920x1080.jpg"))
    run = subprocess.run(
        [sys.executable, "-m", "imagescaler", "batch", str(tmp_path / "in"), "--out",
         str(tmp_path / "out"), "--profile", profile, "--store", store, "--local"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 2, run.stdout + run.stderr
    assert words in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.tar"))
