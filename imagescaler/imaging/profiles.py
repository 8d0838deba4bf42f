"""Profiles: named, versioned, immutable descriptions of preprocessing.

A profile's reference, name@version#hash, hashes its canonical parameters together with the
versions of the libraries that decide the pixels, so a result can always be traced to the
exact preprocessing that made it."""

from __future__ import annotations

import hashlib
import json
import math
from importlib.metadata import version
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from imagescaler.imaging.size_rules import (
    Cover,
    Edges,
    Fit,
    FrozenModel,
    LongestEdge,
    MultipleOf,
    Pad,
    Padding,
    PadSquare,
    PixelBudget,
    ShortestEdge,
    SizeRule,
    Stretch,
    StretchCrop,
    largest_output,
    largest_pixels,
)

__all__ = [
    "Cover", "Edges", "Fit", "ImageOutput", "LongestEdge", "MultipleOf", "Pad", "PadSquare",
    "Padding", "PixelBudget", "Profile", "ShortestEdge", "SizeRule", "Stretch", "StretchCrop",
    "TensorOutput",
]  # fmt: skip
# The libraries whose versions decide the pixels (simplejpeg bundles libjpeg-turbo).
# Read from the installed distributions: no need to import the libraries to know them.
PIXEL_LIBRARIES = {"pillow": version("pillow"), "simplejpeg": version("simplejpeg")}


class ImageOutput(FrozenModel):
    kind: Literal["image"] = "image"
    format: Literal["jpeg", "png", "webp"] = "jpeg"
    quality: Annotated[int, Field(ge=1, le=100)] = 90


class TensorOutput(FrozenModel):
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
# Pillow's filters, and gaussian_linear: a Gaussian blur against aliasing, then linear
# interpolation (scikit-image's resize, which OWLv2's processor uses).
Resample = Literal["nearest", "box", "bilinear", "hamming", "bicubic", "lanczos", "gaussian_linear"]


class Profile(FrozenModel):
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
        if self.margin and not isinstance(self.size, Stretch | Fit | Cover | Pad):
            raise ValueError(f"the margin rule needs a target size: not with {self.size.rule}")
        output = self.output
        pad = getattr(self.size, "pad", None)
        if (
            pad is not None
            and pad.normalised is not None
            and (not isinstance(output, TensorOutput) or output.dtype == "uint8")
        ):
            raise ValueError(
                "size.pad.normalised is a value in a float tensor: give a float tensor output"
            )
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
        """A box (width, height) every output of this profile fits in (the margin rule leaves
        an image up to `margin` over its target as it is)."""
        width, height = largest_output(self.size)
        return math.floor(width * (1 + self.margin)), math.floor(height * (1 + self.margin))

    @property
    def largest_pixels(self) -> int:
        if not self.margin:
            return largest_pixels(self.size)
        width, height = self.largest_output
        return width * height

    @property
    def largest_tensor_bytes(self) -> int:
        """The bytes of the largest tensor the profile makes (0 for image profiles, whose
        encoded size the pixels do not bound usefully)."""
        output = self.output
        if not isinstance(output, TensorOutput):
            return 0
        channels = 1 if self.colour == "L" else 3
        return self.largest_pixels * channels * _DTYPE_BYTES[output.dtype]

    def output_problem(self, max_pixels: int, max_bytes: int) -> str | None:
        """Why this profile's output could not be made or sent within the limits, or None."""
        if self.largest_pixels > max_pixels:
            width, height = self.largest_output
            size = f"{width}x{height}" if width * height == self.largest_pixels else "images"
            return (
                f"profile {self.name}'s output of {size} is over the limit of "
                f"{max_pixels / 1e6:.1f} megapixels"
            )
        if self.largest_tensor_bytes > max_bytes:
            return (
                f"profile {self.name}'s tensor can be {self.largest_tensor_bytes} bytes, over "
                f"the message limit of {max_bytes} bytes"
            )
        return None


_DTYPE_BYTES = {"uint8": 1, "float16": 2, "float32": 4}
