"""The per-item core of every bulk engine (local threads, a deployment, Dask, Ray Data): an
image's bytes and a profile in, a sample or an error row out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from imagescaler.imaging.encoding import OUTPUT_FORMATS
from imagescaler.imaging.formats import Limits
from imagescaler.imaging.preprocess import preprocess
from imagescaler.imaging.profiles import Profile, TensorOutput
from imagescaler.imaging.tensors import npy_bytes
from imagescaler.runtime.errors import ServiceError
from imagescaler.shards.layout import LEVELS, TENSOR, tensor_spec


@dataclass(frozen=True)
class Outcome:
    index: int
    extension: str = ""  # npy, jpg, png, webp; empty when it failed
    data: bytes = b""
    profile: str = ""
    geometry: dict[str, Any] | None = None
    output: str = ""
    tensor: dict[str, Any] | None = None  # tensor profiles: tensor_spec()
    reason: str = ""
    message: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.extension)


def levels_hold(profile: Profile) -> bool:
    """Whether uint8 levels, normalised at load, give back the profile's tensor: not when it
    pads with a normalised value no level gives (SAM's 0)."""
    pad = getattr(profile.size, "pad", None)
    return pad is None or pad.normalised is None


def choose_store(profile: Profile, store: str | None) -> str | None:
    """How a profile's outputs are stored: None for an image profile; for a tensor profile,
    `store` or else uint8 levels where they give the tensor back, else the tensor itself.
    ValueError, in one line, for a choice that cannot hold the profile's outputs."""
    if not profile.is_tensor:
        if store is not None:
            raise ValueError(f"--store is for tensor profiles: {profile.name} gives images")
        return None
    if levels_hold(profile):
        return store or LEVELS
    if store == LEVELS:
        raise ValueError(
            f"--store levels cannot hold {profile.name}'s tensors: it pads with a "
            "normalised value no level gives; use --store tensor"
        )
    return TENSOR


@dataclass(frozen=True)
class Work:
    """What the engines do to each image: the profile, and how its tensors are stored."""

    profile: Profile
    store: str | None  # LEVELS or TENSOR for tensor profiles, None for image profiles

    @property
    def pixels(self) -> Profile:
        """The profile run for the pixels: levels are the profile's tensor before its
        rescale, mean and std, so a levels run asks for uint8 in the same layout."""
        output = self.profile.output
        if self.store != LEVELS or not isinstance(output, TensorOutput):
            return self.profile
        return self.profile.model_copy(
            update={"output": TensorOutput(dtype="uint8", layout=output.layout)}
        )


def run_profile(index: int, data: bytes, work: Work, pixels: Profile, limits: Limits) -> Outcome:
    """In a worker: preprocess() one image; a bad image is an outcome, not an error."""
    try:
        result = preprocess(data, pixels, limits)
    except ServiceError as error:
        return Outcome(index, reason=error.reason, message=error.message)
    except Exception as error:  # reported per item, the run goes on
        return Outcome(index, reason="internal", message=f"{type(error).__name__}: {error}")
    geometry = result.geometry.as_dict()
    output = work.profile.output
    if result.array is not None and isinstance(output, TensorOutput):
        assert work.store is not None
        spec = tensor_spec(output, work.store)
        return tensor_outcome(index, result.array, reference=work.profile.reference,
                              geometry=geometry, output=output, spec=spec)  # fmt: skip
    assert result.data is not None and result.format is not None
    width, height = result.geometry.output_size
    extension = OUTPUT_FORMATS[result.format].extension
    return Outcome(index, extension, result.data, work.profile.reference, geometry,
                   f"{width}x{height} {extension}")  # fmt: skip


def tensor_outcome(
    index: int,
    array: np.ndarray,
    *,
    reference: str,
    geometry: dict[str, Any],
    output: TensorOutput,
    spec: dict[str, Any],
) -> Outcome:
    shape = "x".join(map(str, array.shape))
    return Outcome(index, "npy", npy_bytes(array), reference, geometry,
                   f"{shape} {output.dtype}", spec)  # fmt: skip
