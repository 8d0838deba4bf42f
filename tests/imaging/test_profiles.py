"""Profiles: references that change with anything that decides the pixels, and TOML files
whose mistakes are named by profile and field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from imagescaler.imaging import profiles
from imagescaler.imaging.builtin_profiles import BUILTIN_PROFILES
from imagescaler.imaging.profiles import Profile, Stretch
from imagescaler.imaging.profiles_file import ProfilesFileError, load_profiles

GOOD = """
[profiles.my-resnet]
version = 3
colour = "RGB"
resample = "bicubic"
fidelity = "exact"
size = { rule = "shortest_edge", edge = 232, crop = [224, 224] }
output = { kind = "tensor", dtype = "float16", layout = "HWC", mean = [0.5], std = [0.5] }

[profiles.thumbs]
version = 1
colour = "L"
size = { rule = "pad", width = 320, height = 240, fill = 0, stride = 32 }
output = { kind = "image", format = "webp", quality = 80 }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profiles.toml"
    path.write_text(text)
    return path


def test_builtin_references_have_name_version_and_hash() -> None:
    assert set(BUILTIN_PROFILES) == {
        "default", "imagenet-224", "clip-224", "yolo-640", "deit-224", "detr-800", "sam-1024",
        "dpt-384", "qwen2-vl", "owlv2-960",
    }  # fmt: skip
    for name, profile in BUILTIN_PROFILES.items():
        reference = profile.reference
        assert (
            reference.startswith(f"{name}@{profile.version}#")
            and len(reference.split("#")[1]) == 12
        )


def test_the_reference_changes_with_parameters_and_pixel_libraries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = Profile(name="p", version=1, size=Stretch(width=10, height=10))
    before = base.reference
    assert before == Profile(name="p", version=1, size=Stretch(width=10, height=10)).reference
    assert before != base.model_copy(update={"resample": "bicubic"}).reference
    assert before != base.model_copy(update={"version": 2}).reference
    assert before == base.model_copy(update={"description": "words only"}).reference
    monkeypatch.setitem(profiles.PIXEL_LIBRARIES, "pillow", "0.0.0")  # a Pillow upgrade
    assert base.reference != before


def test_a_profiles_file_loads(tmp_path: Path) -> None:
    loaded = load_profiles(write(tmp_path, GOOD))
    assert set(loaded) == {"my-resnet", "thumbs"}
    assert loaded["thumbs"].size.rule == "pad" and loaded["thumbs"].is_tensor is False
    assert loaded["my-resnet"].reference.startswith("my-resnet@3#")


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (GOOD.replace("edge = 232", "edge = 0"), "profile 'my-resnet': size.shortest_edge.edge"),
        (GOOD.replace('dtype = "float16"', 'dtype = "int64"'), "'my-resnet': output.tensor.dtype"),
        (GOOD.replace("crop = [224, 224]", "crop = [300, 224]"), "must fit in the shortest edge"),
        (GOOD.replace("fill = 0", "fill = 300"), "'thumbs': size.pad.fill"),
        (GOOD.replace("mean = [0.5]", "mean = [0.5, 0.5]"), "needs 1 or 3 values"),
        (GOOD.replace('colour = "L"', 'colour = "CMYK"'), "'thumbs': colour"),
        (GOOD.replace("version = 1", "versoin = 1"), "'thumbs': version: Field required"),
        ("[profiles.yolo-640]\nversion = 2\nsize = {rule='fit', width=1, height=1}\n", "built-in"),
        ("profiles = 3\n", "no [profiles.NAME] tables"),
        ("[profiles.x\n", "profiles file"),
    ],
)
def test_a_mistake_names_the_profile_and_the_field(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(ProfilesFileError, match=named.replace("[", r"\[").replace(".", r"\.")):
        load_profiles(write(tmp_path, text))


@pytest.mark.parametrize(
    ("size", "named"),
    [
        ({"rule": "stretch_crop", "width": 256, "height": 200, "crop": [224, 224]}, "must fit in"),
        ({"rule": "edges", "shortest": 800, "longest": 600}, "longest 600 is less than"),
        ({"rule": "longest_edge", "edge": 1024, "pad": {"width": 512, "height": 1024}}, "cannot"),
        ({"rule": "pixel_budget", "min_pixels": 9000, "max_pixels": 4000}, "max_pixels 4000"),
        ({"rule": "multiple_of", "width": 384, "height": 384, "multiple": 0}, "multiple"),
        (
            {"rule": "longest_edge", "edge": 64, "pad": {"width": 64, "height": 64, "fill": 300}},
            "fill levels are 0-255",
        ),
    ],
)
def test_a_size_rule_that_cannot_work_is_refused_naming_the_field(
    size: dict[str, object], named: str
) -> None:
    with pytest.raises(ValidationError, match=named):
        Profile.model_validate({"name": "x", "version": 1, "size": size})


def test_padding_in_normalised_values_needs_a_float_tensor() -> None:
    size = {"rule": "longest_edge", "edge": 64, "pad": {"width": 64, "height": 64, "normalised": 0}}
    with pytest.raises(ValidationError, match="give a float tensor output"):
        Profile.model_validate({"name": "x", "version": 1, "size": size})
    with pytest.raises(ValidationError, match="margin rule needs a target size: not with edges"):
        Profile.model_validate({
            "name": "x", "version": 1, "margin": 0.1,
            "size": {"rule": "edges", "shortest": 8, "longest": 9},
        })  # fmt: skip


def test_the_library_takes_images_and_profiles_as_users_have_them(tmp_path: Path) -> None:
    from PIL import Image

    from imagescaler import inspect_image, preprocess
    from tests.support.images import shared_image

    data = shared_image("phone_4032x3024_exif6.jpg")
    path = tmp_path / "phone.jpg"
    path.write_bytes(data)
    expected = preprocess(data, BUILTIN_PROFILES["imagenet-224"]).array
    for source in (path, str(path), bytearray(data), memoryview(data)):
        assert np.array_equal(preprocess(source, "imagenet-224").array, expected)
    with path.open("rb") as file:
        assert np.array_equal(preprocess(file, "imagenet-224").array, expected)
    # A PIL image is taken as shown: the same pixels as the upright photo.
    upright = preprocess(data, "default")
    shown = Image.open(path).transpose(Image.Transpose.ROTATE_270)
    assert preprocess(shown, "default").geometry.output_size == upright.geometry.output_size
    assert inspect_image(path).upright_size == (3024, 4032)
    with pytest.raises(TypeError, match="bytes, a path, a binary file object or a PIL image"):
        preprocess(42, "default")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="binary mode"), path.open("r") as text:
        preprocess(text, "default")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="a Profile or a built-in profile's name"):
        preprocess(data, 224)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no built-in profile 'imagenet'"):
        preprocess(data, "imagenet")


def test_boxes_map_back_one_at_a_time_or_as_an_array() -> None:
    from imagescaler import preprocess
    from tests.support.images import shared_image

    geometry = preprocess(shared_image("bird_1920x1080.jpg"), "yolo-640").geometry
    boxes = np.array([[0.0, 140.0, 640.0, 500.0], [10.0, 150.0, 20.0, 160.0]])
    mapped = geometry.box_to_source(boxes)
    assert mapped.shape == (2, 4)
    assert np.allclose(mapped[0], [0, 0, 1920, 1080])
    assert np.allclose(mapped[1], geometry.box_to_source(tuple(boxes[1])))
    assert np.allclose(geometry.box_to_output(mapped), boxes)
    with pytest.raises(ValueError, match="N x 4"):
        geometry.box_to_source(np.zeros((3, 2)))


def test_an_image_detr_leaves_as_it_is_is_not_refused() -> None:
    """1334x600: its short side rounds to the capped target, so DETR's sums keep the image
    as it is, its long side one over 1333; the profile's bound must let it through."""
    from PIL import Image

    from imagescaler import preprocess

    result = preprocess(Image.new("RGB", (1334, 600), (50, 60, 70)), "detr-800")
    assert result.array is not None and result.array.shape == (3, 600, 1334)
