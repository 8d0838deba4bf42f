"""Profiles from a Hugging Face model's own preprocessor_config.json, and back.

A field is either honoured, known not to touch the image (annotations, labels, masks), or
refused with its name: a profile that silently differs from the model's processor is the
mistake this exists to prevent. The families and their rules are listed in
docs/preprocessing.md; tests/imaging/test_hf_processors.py holds each to its processor."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from imagescaler.imaging.hf_defaults import FAMILY_DEFAULTS
from imagescaler.imaging.hf_size_rules import UnsupportedConfig, required, size_rule
from imagescaler.imaging.profiles import Profile, TensorOutput

__all__ = ["UnsupportedConfig", "processor_family", "profile_from_hf", "with_defaults"]

# PIL's resampling numbers, as the configs store them.
RESAMPLE = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}
# Fields that do not touch the image: names, annotations, labels and masks.
NOT_THE_IMAGE = {
    "image_processor_type", "feature_extractor_type", "processor_class", "_processor_class",
    "auto_map", "model_input_names", "format", "do_convert_annotations", "do_reduce_labels",
    "reduce_labels", "mask_size", "mask_pad_size", "default_to_square", "pad_size_divisor",
    "temporal_patch_size", "image_seq_length",
}  # fmt: skip
# OWLv2 resizes with scikit-image's algorithm, whatever its `resample` says.
OWN_RESAMPLING = {"Owlv2": "gaussian_linear"}


def processor_family(config: dict[str, Any], processor: str | None = None) -> str:
    """ViT, CLIP, Detr, ...: the processor's type without its suffix (`processor` names it
    for a file that does not)."""
    kind = processor or config.get("image_processor_type") or config.get("feature_extractor_type")
    if not kind:
        raise UnsupportedConfig(
            "image_processor_type: not given, so the processor is unknown; name it (for the "
            "command, --processor ViT)"
        )
    kind = str(kind)
    for suffix in ("ImageProcessorPil", "ImageProcessorFast", "ImageProcessor", "FeatureExtractor"):
        kind = kind.removesuffix(suffix)
    return kind


def with_defaults(config: dict[str, Any], processor: str | None = None) -> dict[str, Any]:
    """`config` with its processor's defaults filled in, and the processor named: what the
    processor would run with."""
    family = processor_family(config, processor)
    if family not in FAMILY_DEFAULTS:
        raise UnsupportedConfig(
            f"image_processor_type: {family}: not a processor this importer knows (it knows "
            f"{', '.join(sorted(FAMILY_DEFAULTS))})"
        )
    return {**FAMILY_DEFAULTS[family], **config, "image_processor_type": f"{family}ImageProcessor"}


def profile_from_hf(
    config: dict[str, Any], name: str, version: int = 1, processor: str | None = None
) -> Profile:
    """The profile that reproduces `config`'s processor (its PIL backend), or
    UnsupportedConfig naming the first field it cannot honour."""
    _refuse_unknown(config)
    config = with_defaults(config, processor)
    family = processor_family(config)
    if config.get("do_convert_rgb") is False:
        raise UnsupportedConfig("do_convert_rgb: false keeps gray and RGBA inputs as they are")
    if not config.get("do_resize", True):
        raise UnsupportedConfig("do_resize: false gives every image at its own size")
    try:
        return Profile(
            name=name,
            version=version,
            size=size_rule(config, family),
            resample=OWN_RESAMPLING.get(family) or RESAMPLE[required(config, "resample")],
            fidelity="exact",
            output=_tensor(config),
            description=f"imported from a {family} preprocessor configuration",
        )
    except ValidationError as error:
        raise UnsupportedConfig(f"the profile it gives is invalid: {error}") from None
    except KeyError as error:
        raise UnsupportedConfig(f"resample: {error} is not one of PIL's filters") from None


def _refuse_unknown(config: dict[str, Any]) -> None:
    honoured = {
        "do_resize", "size", "resample", "do_center_crop", "crop_size", "do_rescale",
        "rescale_factor", "do_normalize", "image_mean", "image_std", "do_convert_rgb",
        "do_pad", "pad_size", "max_size", "crop_pct", "keep_aspect_ratio",
        "ensure_multiple_of", "size_divisor", "min_pixels", "max_pixels", "patch_size",
        "merge_size",
    }  # fmt: skip
    for field in config:
        if field not in honoured and field not in NOT_THE_IMAGE and not field.startswith("_"):
            raise UnsupportedConfig(f"{field}: not a field this importer knows how to honour")


def _tensor(config: dict[str, Any]) -> TensorOutput:
    rescale = (
        float(config.get("rescale_factor") or 1 / 255) if config.get("do_rescale", True) else 1.0
    )
    if not config.get("do_normalize", True):
        return TensorOutput(rescale=rescale)
    mean = _three(required(config, "image_mean"), "image_mean")
    std = _three(required(config, "image_std"), "image_std")
    return TensorOutput(rescale=rescale, mean=mean, std=std)


def _three(values: Any, field: str) -> tuple[float, ...]:
    values = [values] * 3 if isinstance(values, int | float) else list(values)
    if len(values) != 3:
        raise UnsupportedConfig(f"{field}: {values} is not one value per RGB channel")
    return tuple(float(value) for value in values)
