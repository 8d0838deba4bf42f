"""`imagescaler profiles check`: a profile against its model's processor, image by image."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from imagescaler.cli.profiles.command import CommandError, read_json
from imagescaler.cli.profiles.reference import (
    ReferenceUnavailable,
    build_processor,
    reference_levels,
)
from imagescaler.imaging.hf_export import hf_from_profile
from imagescaler.imaging.hf_processors import UnsupportedConfig
from imagescaler.imaging.preprocess import preprocess
from imagescaler.imaging.profiles import Profile, TensorOutput
from imagescaler.imaging.tensors import denormalise
from imagescaler.runtime.errors import ServiceError

OVER_BOUND = 1


def check_profile(args: argparse.Namespace, profile: Profile) -> int:
    config = _reference_config(args.against, profile)
    try:
        processor, family = build_processor(config, args.processor)
    except (ReferenceUnavailable, UnsupportedConfig) as error:
        raise CommandError(str(error)) from None
    images = sorted(path for path in args.images.iterdir() if path.is_file())
    if not images:
        raise CommandError(f"{args.images}: no files")
    against = args.against or "its own export"
    print(f"{profile.reference} against {family}ImageProcessorPil ({against})")
    worst, failed = 0.0, 0
    for path in images:
        outcome = _difference(path, profile, processor, family)
        if isinstance(outcome, str):
            failed += 1
            print(f"  {path.name}: {outcome}")
            continue
        worst = max(worst, outcome)
        print(f"  {path.name}: {outcome:.3f} levels")
    verdict = "within" if worst <= args.bound and not failed else "OVER"
    print(f"worst {worst:.3f} levels over {len(images) - failed} images, {verdict} the bound of "
          f"{args.bound:g}" + (f"; {failed} not compared" if failed else ""))  # fmt: skip
    return 0 if verdict == "within" else OVER_BOUND


def _reference_config(against: Path | None, profile: Profile) -> dict[str, object]:
    if against is not None:
        return read_json(against)
    try:
        return hf_from_profile(profile)
    except UnsupportedConfig as error:
        raise CommandError(
            f"profile {profile.name} has no Hugging Face processor ({error}): give --against"
        ) from None


def _difference(path: Path, profile: Profile, processor: object, family: str) -> float | str:
    """The largest difference in levels, or why the image could not be compared."""
    data = path.read_bytes()
    try:
        result = preprocess(data, profile)
        upright = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    except (ServiceError, OSError) as error:
        return f"not compared: {error}"
    assert result.array is not None and isinstance(profile.output, TensorOutput)
    ours = denormalise(result.array, profile.output)
    if profile.output.layout == "HWC":
        ours = ours.transpose(2, 0, 1)
    theirs = reference_levels(processor, family, upright)
    if ours.shape != theirs.shape:
        return f"shapes differ: ours {ours.shape}, theirs {theirs.shape}"
    return float(np.abs(ours - theirs).max())
