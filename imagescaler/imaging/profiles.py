"""Profiles: named, versioned, immutable descriptions of preprocessing.

A profile's reference, name@version#hash, hashes its canonical parameters together with the
versions of the libraries that decide the pixels, so a result can always be traced to the
exact preprocessing that made it."""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import version
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from imagescaler.runtime.defaults import MAX_SIDE

Dimension = Annotated[int, Field(ge=1, le=MAX_SIDE)]
# The libraries whose versions decide the pixels (simplejpeg bundles libjpeg-turbo).
# Read from the installed distributions: no need to import the libraries to know them.
PIXEL_LIBRARIES = {"pillow": version("pillow"), "simplejpeg": version("simplejpeg")}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Stretch(_Frozen):
    """Exactly width x height; the aspect ratio is not kept."""

    rule: Literal["stretch"] = "stretch"
    width: Dimension
    height: Dimension


class Fit(_Frozen):
    """Inside width x height, aspect kept; the output is the fitted size."""

    rule: Literal["fit"] = "fit"
    width: Dimension
    height: Dimension


class Cover(_Frozen):
    """Scaled to fill width x height, aspect kept, then the centre cropped."""

    rule: Literal["cover"] = "cover"
    width: Dimension
    height: Dimension


class Pad(_Frozen):
    """Letterbox: fitted inside width x height, centred on a canvas of `fill`; with `stride`,
    the canvas shrinks to the smallest multiple of it that holds the image (as YOLO does)."""

    rule: Literal["pad"] = "pad"
    width: Dimension
    height: Dimension
    fill: tuple[int, int, int] = (0, 0, 0)
    stride: Annotated[int, Field(ge=1)] | None = None

    @field_validator("fill", mode="before")
    @classmethod
    def _grey(cls, value: object) -> object:
        return (value, value, value) if isinstance(value, int) else value

    @field_validator("fill")
    @classmethod
    def _levels(cls, value: tuple[int, int, int]) -> tuple[int, int, int]:
        if not all(0 <= level <= 255 for level in value):
            raise ValueError("fill levels are 0-255")
        return value


class ShortestEdge(_Frozen):
    """The shorter side scaled to `edge` (the longer truncated as torchvision and Hugging Face
    do), then the centre `crop` [width, height] cut out."""

    rule: Literal["shortest_edge"] = "shortest_edge"
    edge: Dimension
    crop: tuple[Dimension, Dimension]

    @model_validator(mode="after")
    def _crop_fits(self) -> ShortestEdge:
        if max(self.crop) > self.edge:
            raise ValueError(f"crop {list(self.crop)} must fit in the shortest edge {self.edge}")
        return self


SizeRule = Annotated[Stretch | Fit | Cover | Pad | ShortestEdge, Field(discriminator="rule")]


class ImageOutput(_Frozen):
    kind: Literal["image"] = "image"
    format: Literal["jpeg", "png", "webp"] = "jpeg"
    quality: Annotated[int, Field(ge=1, le=100)] = 90


class TensorOutput(_Frozen):
    """An array: uint8 levels, or floats rescaled (x * rescale), then (x - mean) / std."""

    kind: Literal["tensor"] = "tensor"
    dtype: Literal["uint8", "float16", "float32"] = "float32"
    layout: Literal["HWC", "CHW"] = "CHW"
    rescale: float = 1 / 255
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> TensorOutput:
        if self.dtype == "uint8" and (self.rescale != 1 / 255 or self.mean or self.std):
            raise ValueError("uint8 tensors are levels 0-255: no rescale, mean or std")
        if (self.mean is None) != (self.std is None):
            raise ValueError("give both mean and std, or neither")
        if self.std is not None and not all(s > 0 for s in self.std):
            raise ValueError("std must be positive")
        return self


Output = Annotated[ImageOutput | TensorOutput, Field(discriminator="kind")]
Resample = Literal["nearest", "box", "bilinear", "hamming", "bicubic", "lanczos"]


class Profile(_Frozen):
    """What to do to every image: size rule, colour, resampling, decode fidelity, output.

    fidelity "fast" decodes JPEG at the smallest DCT scale that covers the output (as the
    service always has) and converts embedded ICC profiles to sRGB; "exact" decodes every
    pixel, takes them as stored (no colour management) and resamples as PIL-based training
    code does (Hugging Face image processors, torchvision's PIL path)."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
    version: Annotated[int, Field(ge=1)]
    size: SizeRule
    margin: Annotated[float, Field(ge=0, lt=1)] = 0.0
    colour: Literal["L", "RGB"] = "RGB"
    resample: Resample = "bilinear"
    fidelity: Literal["fast", "exact"] = "fast"
    output: Output = ImageOutput()
    description: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        if self.margin and isinstance(self.size, ShortestEdge):
            raise ValueError("the margin rule needs a target size: not with shortest_edge")
        output = self.output
        channels = 1 if self.colour == "L" else 3
        if isinstance(output, TensorOutput) and output.mean is not None:
            for field, values in (("mean", output.mean), ("std", output.std or ())):
                if len(values) not in (1, channels):
                    raise ValueError(
                        f"output.{field} needs 1 or {channels} values for {self.colour}"
                    )
        return self

    @property
    def canonical(self) -> dict[str, Any]:
        """Everything that decides the output, as plain JSON data."""
        return self.model_dump(mode="json", exclude={"description"})

    @property
    def reference(self) -> str:
        blob = json.dumps({"profile": self.canonical, "libraries": PIXEL_LIBRARIES}, sort_keys=True)
        return f"{self.name}@{self.version}#{hashlib.sha256(blob.encode()).hexdigest()[:12]}"

    @property
    def is_tensor(self) -> bool:
        return isinstance(self.output, TensorOutput)

    @property
    def largest_output(self) -> tuple[int, int]:
        """The largest width and height any image can come out at."""
        size = self.size
        if isinstance(size, ShortestEdge):
            return size.crop
        return size.width, size.height

    @property
    def largest_tensor_bytes(self) -> int:
        """The bytes of the largest tensor the profile makes (0 for image profiles, whose
        encoded size the pixels do not bound usefully)."""
        output = self.output
        if not isinstance(output, TensorOutput):
            return 0
        width, height = self.largest_output
        channels = 1 if self.colour == "L" else 3
        return width * height * channels * _DTYPE_BYTES[output.dtype]

    def output_problem(self, max_pixels: int, max_bytes: int) -> str | None:
        """Why this profile's output could not be made or sent within the limits, or None."""
        width, height = self.largest_output
        if width * height > max_pixels:
            return (
                f"profile {self.name}'s output of {width}x{height} is over the limit of "
                f"{max_pixels / 1e6:.1f} megapixels"
            )
        if self.largest_tensor_bytes > max_bytes:
            return (
                f"profile {self.name}'s tensor can be {self.largest_tensor_bytes} bytes, over "
                f"the message limit of {max_bytes} bytes"
            )
        return None


_DTYPE_BYTES = {"uint8": 1, "float16": 2, "float32": 4}
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

BUILTIN_PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
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
    )
}


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
