"""The exact profiles do what they claim: the same pixels as the Hugging Face image
processors (their PIL backend, which needs no torch), within 1 grey level before
normalisation. torchvision is not compared: its wheels need torch, over this machine's size."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
from PIL import Image, ImageOps

from imagescaler.imaging.builtin_profiles import BUILTIN_PROFILES
from imagescaler.imaging.preprocess import preprocess
from imagescaler.imaging.profiles import TensorOutput
from tests.support.images import shared_image

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # "PyTorch was not found": the PIL backend does not need it
    from transformers import (
        CLIPImageProcessorPil,
        ConditionalDetrImageProcessorPil,
        DeformableDetrImageProcessorPil,
        DeiTImageProcessorPil,
        DetrImageProcessorPil,
        DPTImageProcessorPil,
        Qwen2VLImageProcessorPil,
        SamImageProcessorPil,
    )
    from transformers.image_utils import PILImageResampling, SizeDict

# RGB photos: the processors take the upright picture as it is (no ICC conversion, no alpha
# on white), which is what ours does for these.
CORPUS = [
    "hotdog_1400x1316.jpg",
    "bird_1920x1080.jpg",
    "leaf_3264x2448.jpg",
    "phone_4032x3024_exif6.jpg",
    "photo_550x368.webp",
]
REFERENCES = {
    "imagenet-224": lambda: CLIPImageProcessorPil(
        size={"shortest_edge": 256},
        crop_size={"height": 224, "width": 224},
        resample=PILImageResampling.BILINEAR,
        image_mean=[0.485, 0.456, 0.406],
        image_std=[0.229, 0.224, 0.225],
    ),
    "clip-224": CLIPImageProcessorPil,  # its defaults are CLIP's: bicubic 224, crop 224
}


def levels(tensor: np.ndarray, output: TensorOutput) -> np.ndarray:
    """A normalised CHW tensor back to 0-255 levels."""
    assert output.mean is not None and output.std is not None
    mean = np.asarray(output.mean).reshape(-1, 1, 1)
    std = np.asarray(output.std).reshape(-1, 1, 1)
    return (tensor.astype(np.float64) * std + mean) / output.rescale


@pytest.mark.parametrize("name", list(REFERENCES))
@pytest.mark.parametrize("photo", CORPUS)
def test_exact_profiles_match_the_hugging_face_processors(name: str, photo: str) -> None:
    profile = BUILTIN_PROFILES[name]
    data = shared_image(photo)
    ours = preprocess(data, profile).array
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    theirs = REFERENCES[name]()(images=upright, return_tensors="np")["pixel_values"][0]
    assert ours is not None and ours.shape == theirs.shape == (3, 224, 224)
    assert isinstance(profile.output, TensorOutput)
    difference = np.abs(levels(ours, profile.output) - levels(theirs, profile.output))
    assert difference.max() <= 1.0 + 1e-3, f"{difference.max():.3f} levels apart"
    # In practice identical: the same PIL resize on the same decoded pixels.
    assert np.allclose(ours, theirs, atol=1e-4)


# The size rules the Hub's other vision models need, each against its family's processor
# with the parameters of the built-in profile (the processors' own defaults, but DPT's, whose
# MiDaS-style models keep the aspect and round to 32).
IMAGENET, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]  # DeiT's published values
FAMILIES = {
    "deit-224": ("deit-224", lambda: DeiTImageProcessorPil(image_mean=IMAGENET, image_std=STD)),
    "detr": ("detr-800", DetrImageProcessorPil),
    "conditional-detr": ("detr-800", ConditionalDetrImageProcessorPil),
    "deformable-detr": ("detr-800", DeformableDetrImageProcessorPil),
    "sam": ("sam-1024", SamImageProcessorPil),
    "dpt": ("dpt-384", lambda: DPTImageProcessorPil(keep_aspect_ratio=True, ensure_multiple_of=32)),
}


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("photo", CORPUS)
def test_model_family_profiles_match_their_processors(family: str, photo: str) -> None:
    name, reference = FAMILIES[family]
    profile = BUILTIN_PROFILES[name]
    data = shared_image(photo)
    ours = preprocess(data, profile).array
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    theirs = reference()(images=upright, return_tensors="np")["pixel_values"][0]
    assert ours is not None and ours.shape == theirs.shape
    assert isinstance(profile.output, TensorOutput)
    difference = np.abs(levels(ours, profile.output) - levels(theirs, profile.output))
    assert difference.max() <= 1.0 + 1e-3, f"{difference.max():.3f} levels apart"


@pytest.mark.parametrize("photo", CORPUS)
def test_qwen2_vl_resizes_to_the_pixels_it_patches(photo: str) -> None:
    """Qwen2-VL cuts its resized image into patches; the pixels before that are compared."""
    profile = BUILTIN_PROFILES["qwen2-vl"]
    data = shared_image(photo)
    ours = preprocess(data, profile).array
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    processor = Qwen2VLImageProcessorPil()
    budget = SizeDict(shortest_edge=56 * 56, longest_edge=28 * 28 * 1280)
    chw = np.asarray(upright).transpose(2, 0, 1)
    theirs = processor.resize(chw, budget, processor.resample, factor=28).astype(np.float64)
    assert ours is not None and ours.shape == theirs.shape
    assert isinstance(profile.output, TensorOutput)
    assert np.abs(levels(ours, profile.output) - theirs).max() <= 1.0 + 1e-3


def test_a_gray_photo_through_an_rgb_profile_has_three_equal_channels() -> None:
    gray = Image.open(io.BytesIO(shared_image("bird_1920x1080.jpg"))).convert("L")
    buffer = io.BytesIO()
    gray.save(buffer, "JPEG", quality=95)
    profile = BUILTIN_PROFILES["imagenet-224"]
    ours = preprocess(buffer.getvalue(), profile).array
    assert ours is not None and ours.shape == (3, 224, 224)
    assert isinstance(profile.output, TensorOutput)
    restored = levels(ours, profile.output)
    assert np.allclose(restored[0], restored[1], atol=1e-3)
    assert np.allclose(restored[1], restored[2], atol=1e-3)
    theirs = REFERENCES["imagenet-224"]()(images=Image.open(buffer), return_tensors="np")
    assert np.allclose(ours, theirs["pixel_values"][0], atol=1e-4)
