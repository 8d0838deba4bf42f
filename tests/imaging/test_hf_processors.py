"""Profiles imported from the models' published preprocessor_config.json files give what
the models' own processors give (their PIL backend), within 1 level, on the shared photos
(the phone photo's EXIF orientation included); and what cannot be reproduced is refused by
name. The configurations are fixtures (tests/fixtures/preprocessor_configs, each with its
`_source`): nothing is downloaded."""

from __future__ import annotations

import io
import json
import warnings
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageOps

from imagescaler.cli.profiles.reference import build_processor, reference_levels
from imagescaler.imaging.hf_defaults import FAMILY_DEFAULTS
from imagescaler.imaging.hf_export import hf_from_profile
from imagescaler.imaging.hf_processors import UnsupportedConfig, profile_from_hf
from imagescaler.imaging.preprocess import preprocess
from imagescaler.imaging.profiles import TensorOutput
from imagescaler.imaging.tensors import denormalise
from tests.support.images import shared_image
from tests.support.paths import ROOT

CONFIGS = ROOT / "tests" / "fixtures" / "preprocessor_configs"
PHOTOS = ["hotdog_1400x1316.jpg", "phone_4032x3024_exif6.jpg", "photo_550x368.webp"]
# Files that do not say what they are (google/vit-base-patch16-224's names no processor).
NAMED = {"vit": "ViT"}
IMPORTED = sorted(path.stem for path in CONFIGS.glob("*.json"))


def config(family: str) -> dict[str, Any]:
    return dict(json.loads((CONFIGS / f"{family}.json").read_text()))


@pytest.mark.parametrize("family", IMPORTED)
def test_an_imported_profile_gives_what_the_models_processor_gives(family: str) -> None:
    published = config(family)
    profile = profile_from_hf(published, name=family, processor=NAMED.get(family))
    processor, kind = build_processor(published, NAMED.get(family))
    assert isinstance(profile.output, TensorOutput)
    for photo in PHOTOS:
        data = shared_image(photo)
        result = preprocess(data, profile)
        assert result.array is not None
        upright = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
        theirs = reference_levels(processor, kind, upright)
        ours = denormalise(result.array, profile.output)
        assert ours.shape == theirs.shape, (photo, ours.shape, theirs.shape)
        apart = np.abs(ours - theirs).max()
        assert apart <= 1.0 + 1e-3, f"{family}, {photo}: {apart:.3f} levels apart"


@pytest.mark.parametrize("family", IMPORTED)
def test_the_export_imports_back_to_the_same_profile(family: str) -> None:
    profile = profile_from_hf(config(family), name=family, processor=NAMED.get(family))
    exported = hf_from_profile(profile)
    again = profile_from_hf(exported, name=family)
    assert again.reference == profile.reference
    # ... and the processor built from the export is the same processor.
    processor, kind = build_processor(exported)
    data = shared_image("hotdog_1400x1316.jpg")
    upright = Image.open(io.BytesIO(data)).convert("RGB")
    ours = preprocess(data, profile).array
    assert ours is not None and isinstance(profile.output, TensorOutput)
    theirs = reference_levels(processor, kind, upright)
    assert np.abs(denormalise(ours, profile.output) - theirs).max() <= 1.0 + 1e-3


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"do_flip_channel_order": True}, "do_flip_channel_order: not a field"),
        ({"image_processor_type": "DonutImageProcessor"}, "Donut: not a processor"),
        ({"do_convert_rgb": False}, "do_convert_rgb"),
        ({"do_resize": False}, "do_resize"),
        ({"resample": 9}, "resample"),
        ({"image_mean": [0.5, 0.5]}, "image_mean"),
    ],
)
def test_what_cannot_be_reproduced_is_refused_by_name(change: dict[str, Any], named: str) -> None:
    with pytest.raises(UnsupportedConfig, match=named):
        profile_from_hf({**config("deit"), **change}, name="x")


def test_a_nameless_file_is_refused_saying_what_to_do() -> None:
    with pytest.raises(UnsupportedConfig, match="--processor ViT"):
        profile_from_hf(config("vit"), name="x")


def test_the_defaults_are_the_installed_processors_defaults() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import transformers
    for family, defaults in FAMILY_DEFAULTS.items():
        kind = getattr(transformers, f"{family}ImageProcessorPil")
        for field, value in defaults.items():
            theirs = getattr(kind, field)
            theirs = int(theirs) if field == "resample" else theirs
            theirs = list(theirs) if isinstance(theirs, tuple) else theirs
            assert theirs == pytest.approx(value), (family, field)


def test_an_exported_profile_needs_a_processor_that_does_the_same() -> None:
    from imagescaler.imaging.builtin_profiles import BUILTIN_PROFILES

    with pytest.raises(UnsupportedConfig, match="fidelity: 'fast': a processor works as 'exact'"):
        hf_from_profile(BUILTIN_PROFILES["yolo-640"])
    exact_letterbox = BUILTIN_PROFILES["yolo-640"].model_copy(update={"fidelity": "exact"})
    with pytest.raises(UnsupportedConfig, match="no Hugging Face processor resizes by pad"):
        hf_from_profile(exact_letterbox)
    assert hf_from_profile(BUILTIN_PROFILES["sam-1024"])["image_processor_type"] == (
        "SamImageProcessor"
    )


@pytest.mark.parametrize(
    ("builtin", "family"),
    [("deit-224", "deit"), ("detr-800", "detr"), ("sam-1024", "sam"), ("owlv2-960", "owlv2")],
)
def test_built_in_profiles_are_their_models_published_configurations(
    builtin: str, family: str
) -> None:
    from imagescaler.imaging.builtin_profiles import BUILTIN_PROFILES

    imported = profile_from_hf(config(family), name=builtin)
    assert imported.canonical == BUILTIN_PROFILES[builtin].canonical
