"""`imagescaler profiles`, as a user runs it: import a model's configuration, check the profile
against the model's processor, export it back; mistakes exit 2 naming the field."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.local_system import IMAGESCALER
from tests.support.paths import ROOT, SHARED_IMAGES

CONFIGS = ROOT / "tests" / "fixtures" / "preprocessor_configs"


def imagescaler(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [*IMAGESCALER, *map(str, args)]
    return subprocess.run(
        command, capture_output=True, text=True, cwd=cwd, timeout=300, check=False
    )


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("hotdog_1400x1316.jpg", "phone_4032x3024_exif6.jpg"):
        shutil.copy(SHARED_IMAGES / name, folder / name)
    return folder


def test_import_then_check_against_the_models_processor(tmp_path: Path, photos: Path) -> None:
    profiles = tmp_path / "profiles.toml"
    config = CONFIGS / "detr.json"
    made = imagescaler(
        "profiles", "import", config, "--name", "my-detr", "-o", profiles, cwd=tmp_path
    )
    assert made.returncode == 0, made.stderr
    assert "my-detr@1#" in made.stderr and 'rule = "edges"' in profiles.read_text()
    check = imagescaler(
        "profiles", "check", "my-detr", "--profiles-file", profiles, "--images", photos,
        "--against", config, cwd=tmp_path,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    assert "against DetrImageProcessorPil" in check.stdout
    assert "phone_4032x3024_exif6.jpg: 0.000 levels" in check.stdout
    assert "within the bound of 1" in check.stdout
    again = imagescaler(
        "profiles", "import", config, "--name", "my-detr", "-o", profiles, cwd=tmp_path
    )
    assert again.returncode == 2 and "already has a profile 'my-detr'" in again.stderr


def test_a_profile_that_differs_from_the_processor_fails_the_check(
    tmp_path: Path, photos: Path
) -> None:
    check = imagescaler(
        "profiles", "check", "imagenet-224", "--images", photos,
        "--against", CONFIGS / "clip.json", cwd=tmp_path,
    )  # fmt: skip
    assert check.returncode == 1
    assert "OVER the bound of 1" in check.stdout


def test_a_built_in_profile_checks_against_its_own_export(tmp_path: Path, photos: Path) -> None:
    check = imagescaler("profiles", "check", "sam-1024", "--images", photos, cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "against SamImageProcessorPil (its own export)" in check.stdout
    exported = imagescaler("profiles", "export", "sam-1024", cwd=tmp_path)
    assert json.loads(exported.stdout)["pad_size"] == {"height": 1024, "width": 1024}


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("import", CONFIGS / "vit.json", "--name", "v"), "--processor ViT"),
        (("import", "missing.json", "--name", "m"), "missing.json"),
        (("export", "yolo-640"), "fidelity: 'fast'"),
        (("export", "nope"), "no profile 'nope'; there are: clip-224"),
    ],
)
def test_mistakes_exit_2_saying_what_to_do(
    tmp_path: Path, args: tuple[str | Path, ...], says: str
) -> None:
    result = imagescaler("profiles", *args, cwd=tmp_path)
    assert result.returncode == 2 and says in result.stderr, result.stderr


def test_a_nameless_file_imports_with_its_processor_named(tmp_path: Path) -> None:
    result = imagescaler(
        "profiles", "import", CONFIGS / "vit.json", "--name", "vit", "--processor", "ViT",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "[profiles.vit.size]" in result.stdout and 'rule = "stretch"' in result.stdout
