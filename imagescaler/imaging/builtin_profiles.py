"""The built-in profiles, each written from its models' published preprocessing (docs/
preprocessing.md names the reference each is held to), and `default`, the original ScaleImage."""

from __future__ import annotations

from typing import Literal

from imagescaler.imaging.profiles import (
    Cover,
    Edges,
    Fit,
    ImageOutput,
    LongestEdge,
    MultipleOf,
    Pad,
    Padding,
    PadSquare,
    PixelBudget,
    Profile,
    ShortestEdge,
    Stretch,
    StretchCrop,
    TensorOutput,
)

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
HALF = (0.5, 0.5, 0.5)  # transformers' IMAGENET_STANDARD_MEAN and _STD

SizeRuleName = Literal["stretch", "fit", "cover", "pad"]


def default_profile(
    *,
    target: tuple[int, int] = (1024, 768),
    grayscale: bool = True,
    resize_mode: SizeRuleName = "stretch",
    fill: tuple[int, int, int] = (0, 0, 0),
    output_format: Literal["jpeg", "png", "webp"] = "jpeg",
    quality: int = 90,
    margin: float = 0.05,
) -> Profile:
    """`default`: what the original ImageScaler/ScaleImage does, from the API's startup flags."""
    width, height = target
    rules: dict[str, Stretch | Fit | Cover | Pad] = {
        "stretch": Stretch(width=width, height=height),
        "fit": Fit(width=width, height=height),
        "cover": Cover(width=width, height=height),
        "pad": Pad(width=width, height=height, fill=fill),
    }
    return Profile(
        name="default",
        version=1,
        size=rules[resize_mode],
        margin=margin,
        colour="L" if grayscale else "RGB",
        resample="lanczos",
        output=ImageOutput(format=output_format, quality=quality),
        description="the original ScaleImage: the API's startup flags",
    )


BUILTIN_PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
        default_profile(),  # the API's `default` comes from its flags; this is the stock one
        Profile(
            name="imagenet-224",
            version=1,
            size=ShortestEdge(edge=256, crop=(224, 224)),
            resample="bilinear",
            fidelity="exact",
            output=TensorOutput(mean=IMAGENET_MEAN, std=IMAGENET_STD),
            description="ImageNet eval: shortest edge 256, centre crop 224, ImageNet mean/std",
        ),
        Profile(
            name="clip-224",
            version=1,
            size=ShortestEdge(edge=224, crop=(224, 224)),
            resample="bicubic",
            fidelity="exact",
            output=TensorOutput(mean=CLIP_MEAN, std=CLIP_STD),
            description="CLIP: bicubic shortest edge 224, centre crop 224, CLIP mean/std",
        ),
        Profile(
            name="yolo-640",
            version=1,
            size=Pad(width=640, height=640, fill=(114, 114, 114)),
            resample="bilinear",
            output=TensorOutput(),
            description="YOLO: letterbox 640 on grey 114, RGB, float32 CHW in 0-1",
        ),
        Profile(
            name="deit-224",
            version=1,
            size=StretchCrop(width=256, height=256, crop=(224, 224)),
            resample="bicubic",
            fidelity="exact",
            output=TensorOutput(mean=IMAGENET_MEAN, std=IMAGENET_STD),
            description="DeiT: bicubic 256x256 (aspect not kept), centre crop 224, ImageNet "
            "mean/std",
        ),
        Profile(
            name="detr-800",
            version=1,
            size=Edges(shortest=800, longest=1333),
            resample="bilinear",
            fidelity="exact",
            output=TensorOutput(mean=IMAGENET_MEAN, std=IMAGENET_STD),
            description="DETR and its kin: shortest edge 800, longest at most 1333, ImageNet "
            "mean/std",
        ),
        Profile(
            name="sam-1024",
            version=1,
            size=LongestEdge(edge=1024, pad=Padding(width=1024, height=1024, normalised=0.0)),
            resample="bilinear",
            fidelity="exact",
            output=TensorOutput(mean=IMAGENET_MEAN, std=IMAGENET_STD),
            description="SAM: longest edge 1024, ImageNet mean/std, then padded at the bottom "
            "and right to 1024x1024 with 0",
        ),
        Profile(
            name="dpt-384",
            version=1,
            size=MultipleOf(width=384, height=384, multiple=32, keep_aspect=True),
            resample="bicubic",
            fidelity="exact",
            output=TensorOutput(mean=HALF, std=HALF),
            description="DPT/MiDaS: towards 384, aspect kept, each side a multiple of 32, "
            "mean/std 0.5",
        ),
        Profile(
            name="qwen2-vl",
            version=1,
            size=PixelBudget(factor=28, min_pixels=56 * 56, max_pixels=28 * 28 * 1280),
            resample="bicubic",
            fidelity="exact",
            output=TensorOutput(mean=CLIP_MEAN, std=CLIP_STD),
            description="Qwen2-VL: sides multiples of 28, 3136 to 1003520 pixels, CLIP mean/std "
            "(the pixels before patching)",
        ),
        Profile(
            name="owlv2-960",
            version=1,
            size=PadSquare(width=960, height=960),
            resample="gaussian_linear",
            fidelity="exact",
            output=TensorOutput(mean=CLIP_MEAN, std=CLIP_STD),
            description="OWLv2: padded square at the bottom and right with 0, resized to 960 "
            "(a Gaussian, then linear, as scikit-image), CLIP mean/std",
        ),
    )
}
