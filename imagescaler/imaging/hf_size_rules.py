"""The size rule a Hugging Face processor configuration describes: its `size`, `crop_size`,
`crop_pct`, padding and pixel budget read as transformers reads them, per family
(docs/preprocessing.md lists them), or UnsupportedConfig naming what cannot be reproduced."""

from __future__ import annotations

from typing import Any

from imagescaler.imaging.profiles import (
    Edges,
    LongestEdge,
    MultipleOf,
    Padding,
    PadSquare,
    PixelBudget,
    ShortestEdge,
    SizeRule,
    Stretch,
    StretchCrop,
)
from imagescaler.runtime.defaults import MAX_SIDE

DETECTION = {"Detr", "ConditionalDetr", "DeformableDetr", "Yolos"}


class UnsupportedConfig(ValueError):
    """A configuration whose preprocessing a profile cannot reproduce; names the field."""


def required(config: dict[str, Any], field: str) -> Any:
    if config.get(field) is None:
        raise UnsupportedConfig(f"{field}: not given (the processor's default is not assumed)")
    return config[field]


def size_rule(config: dict[str, Any], family: str) -> SizeRule:
    """The rule of `config` (its processor's defaults filled in) for a `family` processor."""
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


def _size_dict(config: dict[str, Any], family: str) -> dict[str, int]:
    """The `size` as transformers' get_size_dict reads it (old configs give an int)."""
    size = required(config, "size")
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
    crop = required(config, "crop_size")
    if isinstance(crop, int):
        return crop, crop
    return crop["width"], crop["height"]


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
    crop_pct = float(required(config, "crop_pct"))
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
    factor = int(required(config, "patch_size")) * int(config.get("merge_size") or 1)
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
    pad = required(config, "pad_size")
    normalised = 0.0 if config.get("do_normalize", True) else None
    if normalised is None and config.get("do_rescale", True) is False:
        raise UnsupportedConfig("do_rescale: false with padding: the pad value is not a level")
    return Padding(width=pad["width"], height=pad["height"], normalised=normalised)
