"""Golden outputs: a built-in profile whose output moves by more than 1 level at any pixel on
the corpus fails here. A Pillow or libjpeg-turbo upgrade that does that must bump the
profile's version on purpose, then regenerate: python -m tests.support.golden --write."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from imagescaler.imaging.preprocess import preprocess
from tests.support.golden import CORPUS, as_levels, golden_path, profiles
from tests.support.images import shared_image


@pytest.mark.parametrize("photo", CORPUS)
@pytest.mark.parametrize("name", list(profiles()))
def test_builtin_profiles_keep_their_pixels(name: str, photo: str) -> None:
    profile = profiles()[name]
    levels = as_levels(preprocess(shared_image(photo), profile), profile)
    golden = np.asarray(Image.open(golden_path(name, photo))).astype(np.float64)
    assert levels.shape == golden.shape
    moved = np.abs(levels - golden).max()
    assert moved <= 1.0, (
        f"{profile.reference} moved by {moved:.1f} levels on {photo}: if that is meant, bump "
        "its version and regenerate the golden files"
    )
