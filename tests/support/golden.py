"""Golden outputs of the built-in profiles on a small corpus, as PNGs of 0-255 levels.

Regenerate (on purpose, after bumping the profiles' versions) with
    .venv/bin/python -m tests.support.golden --write"""

from __future__ import annotations

import io
import sys

import numpy as np
from PIL import Image

from imagescaler.imaging.preprocess import Result, preprocess
from imagescaler.imaging.profiles import Profile, TensorOutput
from imagescaler.imaging.profiles_file import profile_catalogue
from tests.support.images import shared_image
from tests.support.paths import ROOT

GOLDEN = ROOT / "tests" / "golden"
CORPUS = ["hotdog_1400x1316.jpg", "phone_4032x3024_exif6.jpg", "rgba_400x300.png"]


def profiles() -> dict[str, Profile]:
    return profile_catalogue()


def as_levels(result: Result, profile: Profile) -> np.ndarray:
    """The output as 0-255 levels, HxW or HxWx3, whatever the profile's output is."""
    if result.data is not None:
        return np.asarray(Image.open(io.BytesIO(result.data)))
    assert result.array is not None and isinstance(profile.output, TensorOutput)
    output, values = profile.output, result.array.astype(np.float64)
    channels_last = values.transpose(1, 2, 0) if output.layout == "CHW" else values
    if output.mean is not None and output.std is not None:
        channels_last = channels_last * np.asarray(output.std) + np.asarray(output.mean)
    levels = channels_last / (1 if output.dtype == "uint8" else output.rescale)
    return levels[:, :, 0] if levels.shape[2] == 1 else levels


def golden_path(profile: str, photo: str) -> str:
    return str(GOLDEN / f"{profile}__{photo.rsplit('.', 1)[0]}.png")


def write() -> None:
    GOLDEN.mkdir(exist_ok=True)
    for name, profile in profiles().items():
        for photo in CORPUS:
            levels = as_levels(preprocess(shared_image(photo), profile), profile)
            Image.fromarray(np.clip(np.rint(levels), 0, 255).astype(np.uint8)).save(
                golden_path(name, photo), optimize=True
            )


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    write()
