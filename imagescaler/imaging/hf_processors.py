"""Profiles from a Hugging Face model's own preprocessor_config.json, and back.

A field is either honoured, known not to touch the image (annotations, labels, masks), or
refused with its name: a profile that silently differs from the model's processor is the
mistake this exists to prevent. The families and their rules are listed in
docs/preprocessing.md; tests/imaging/test_hf_processors.py holds each to its processor."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from imagescaler.imaging.hf_defaults import FAMILY_DEFAULTS
from imagescaler.imaging.profiles import (
    Edges,
    LongestEdge,
    MultipleOf,
    Padding,
    PadSquare,
    PixelBudget,
    Profile,
    ShortestEdge,
    SizeRule,
    Stretch,
    StretchCrop,
    TensorOutput,
)
from imagescaler.runtime.defaults import MAX_SIDE

# PIL's resampling numbers, as the configs store them.
RESAMPLE = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}
DETECTION = {"Detr", "ConditionalDetr", "DeformableDetr", "Yolos"}
# Fields that do not touch the image: names, annotations, labels and masks.
NOT_THE_IMAGE = {
    "image_processor_type", "feature_extractor_type", "processor_class", "_processor_class",
    "auto_map", "model_input_names", "format", "do_convert_annotations", "do_reduce_labels",
    "reduce_labels", "mask_size", "mask_pad_size", "default_to_square", "pad_size_divisor",
    "temporal_patch_size", "image_seq_length",
}  # fmt: skip
# OWLv2 resizes with scikit-image's algorithm, whatever its `resample` says.
OWN_RESAMPLING = {"Owlv2": "gaussian_linear"}


class UnsupportedConfig(ValueError):
    """A configuration whose preprocessing a profile cannot reproduce; names the field."""


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
            size=_size_rule(config, family),
            resample=OWN_RESAMPLING.get(family) or RESAMPLE[_required(config, "resample")],
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


def _required(config: dict[str, Any], field: str) -> Any:
    if config.get(field) is None:
        raise UnsupportedConfig(f"{field}: not given (the processor's default is not assumed)")
    return config[field]


def _size_dict(config: dict[str, Any], family: str) -> dict[str, int]:
    """The `size` as transformers' get_size_dict reads it (old configs give an int)."""
    size = _required(config, "size")
    if isinstance(size, list | tuple) and len(size) == 2:
        return {"height": size[0], "width": size[1]}  # (height, width), as get_size_dict reads
    if isinstance(size, int):
        if config.get("default_to_square", True):
            return {"height": size, "width": size}
        size = {"shortest_edge": size}
        if config.get("max_size") is not None:
            size["longest_edge"] = config["max_size"]
    if not isinstance(size, dict):
        raise UnsupportedConfig(f"size: {size!r} is neither a number nor a table")
    return size


def _crop(config: dict[str, Any]) -> tuple[int, int] | None:
    if not config.get("do_center_crop"):
        return None
    crop = _required(config, "crop_size")
    if isinstance(crop, int):
        return crop, crop
    return crop["width"], crop["height"]


def _size_rule(config: dict[str, Any], family: str) -> SizeRule:
    size = _size_dict(config, family)
    crop = _crop(config)
    if family == "Qwen2VL":
        return _pixel_budget(config, size)
    _refuse_padding(config, family)
    if family == "ConvNext":
        return _convnext(config, size, crop)
    if family == "Owlv2":
        return _owlv2(config, size)
    keys = {key for key, value in size.items() if value is not None}
    if keys == {"height", "width"}:
        return _target(config, family, size, crop)
    if crop is not None and keys != {"shortest_edge"}:
        raise UnsupportedConfig(f"crop_size: a centre crop after size {size} is not supported")
    return _edge_rule(config, family, size, keys, crop)


def _edge_rule(
    config: dict[str, Any],
    family: str,
    size: dict[str, int],
    keys: set[str],
    crop: tuple[int, int] | None,
) -> SizeRule:
    """The sizes given by edges: shortest (and longest), or longest alone."""
    if keys == {"shortest_edge"} and crop is not None:
        return ShortestEdge(edge=size["shortest_edge"], crop=crop)
    if keys == {"shortest_edge"}:
        return Edges(shortest=size["shortest_edge"], longest=MAX_SIDE)
    if keys == {"shortest_edge", "longest_edge"}:
        multiple = 16 if family == "Yolos" else None
        shortest, longest = size["shortest_edge"], size["longest_edge"]
        return Edges(shortest=shortest, longest=longest, multiple=multiple)
    if keys == {"longest_edge"}:
        return LongestEdge(edge=size["longest_edge"], pad=_sam_pad(config))
    raise UnsupportedConfig(f"size: {size} is not a size this importer can reproduce")


def _target(
    config: dict[str, Any], family: str, size: dict[str, int], crop: tuple[int, int] | None
) -> SizeRule:
    width, height = size["width"], size["height"]
    multiple = int(config.get("ensure_multiple_of") or 1)
    if family == "DPT" and (config.get("keep_aspect_ratio") or multiple > 1):
        if crop is not None:
            raise UnsupportedConfig("crop_size: DPT does not crop")
        keep = bool(config.get("keep_aspect_ratio"))
        return MultipleOf(width=width, height=height, multiple=multiple, keep_aspect=keep)
    if crop is not None:
        return StretchCrop(width=width, height=height, crop=crop)
    return Stretch(width=width, height=height)


def _convnext(
    config: dict[str, Any], size: dict[str, int], crop: tuple[int, int] | None
) -> SizeRule:
    """ConvNeXt (and ResNet, which uses it): under 384, the shortest edge to edge / crop_pct,
    then the centre edge x edge; from 384, the image warped to edge x edge."""
    if crop is not None:
        raise UnsupportedConfig("do_center_crop: ConvNeXt crops by crop_pct, not crop_size")
    edge = size.get("shortest_edge")
    if edge is None:
        raise UnsupportedConfig(f"size: {size}: ConvNeXt takes a shortest_edge")
    if edge >= 384:
        return Stretch(width=edge, height=edge)
    crop_pct = float(_required(config, "crop_pct"))
    return ShortestEdge(edge=int(edge / crop_pct), crop=(edge, edge))


def _owlv2(config: dict[str, Any], size: dict[str, int]) -> SizeRule:
    """OWLv2: padded square at the bottom and right with 0 (after rescaling: level 0), then
    resized to height x width."""
    if set(size) - {"height", "width"}:
        raise UnsupportedConfig(f"size: {size}: OWLv2 takes a height and a width")
    if not config.get("do_pad"):
        return Stretch(width=size["width"], height=size["height"])
    return PadSquare(width=size["width"], height=size["height"])


def _pixel_budget(config: dict[str, Any], size: dict[str, int]) -> PixelBudget:
    factor = int(_required(config, "patch_size")) * int(config.get("merge_size") or 1)
    low = config.get("min_pixels") or size.get("shortest_edge")
    high = config.get("max_pixels") or size.get("longest_edge")
    if low is None or high is None:
        raise UnsupportedConfig("min_pixels / max_pixels: not given")
    return PixelBudget(factor=factor, min_pixels=low, max_pixels=high)


def _refuse_padding(config: dict[str, Any], family: str) -> None:
    """Padding a profile cannot reproduce: to a batch's largest image (the detectors pad each
    image to itself when it is alone, which is no padding), or to a multiple after
    normalising (DPT's size_divisor)."""
    if not config.get("do_pad"):
        return
    if family in DETECTION and config.get("pad_size") is None:
        return  # one image at a time: the batch's largest is the image itself
    if family in ("Sam", "Owlv2"):
        return
    raise UnsupportedConfig(f"do_pad: {family}'s padding is not one a profile reproduces")


def _sam_pad(config: dict[str, Any]) -> Padding | None:
    """SAM pads at the bottom and right after normalising: 0 in the tensor."""
    if not config.get("do_pad"):
        return None
    pad = _required(config, "pad_size")
    normalised = 0.0 if config.get("do_normalize", True) else None
    if normalised is None and config.get("do_rescale", True) is False:
        raise UnsupportedConfig("do_rescale: false with padding: the pad value is not a level")
    return Padding(width=pad["width"], height=pad["height"], normalised=normalised)


def _tensor(config: dict[str, Any]) -> TensorOutput:
    rescale = (
        float(config.get("rescale_factor") or 1 / 255) if config.get("do_rescale", True) else 1.0
    )
    if not config.get("do_normalize", True):
        return TensorOutput(rescale=rescale)
    mean = _three(_required(config, "image_mean"), "image_mean")
    std = _three(_required(config, "image_std"), "image_std")
    return TensorOutput(rescale=rescale, mean=mean, std=std)


def _three(values: Any, field: str) -> tuple[float, ...]:
    values = [values] * 3 if isinstance(values, int | float) else list(values)
    if len(values) != 3:
        raise UnsupportedConfig(f"{field}: {values} is not one value per RGB channel")
    return tuple(float(value) for value in values)
