"""A profile as a Hugging Face preprocessor_config.json, where a processor does the same: the
reverse of hf_processors.profile_from_hf (importing what this writes gives the profile back)."""

from __future__ import annotations

from typing import Any

from imagescaler.imaging.hf_processors import RESAMPLE, UnsupportedConfig
from imagescaler.imaging.profiles import (
    Edges,
    LongestEdge,
    MultipleOf,
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

PIL_NUMBER = {name: number for number, name in RESAMPLE.items()}


def hf_from_profile(profile: Profile) -> dict[str, Any]:
    """The processor configuration that preprocesses as `profile` does, or UnsupportedConfig
    saying which part of the profile no processor reproduces."""
    output = profile.output
    if not isinstance(output, TensorOutput) or output.dtype != "float32" or output.layout != "CHW":
        raise UnsupportedConfig("output: processors give float32 CHW tensors")
    for field, value, wanted in (
        ("fidelity", profile.fidelity, "exact"),
        ("colour", profile.colour, "RGB"),
        ("margin", profile.margin, 0.0),
    ):
        if value != wanted:
            raise UnsupportedConfig(f"{field}: {value!r}: a processor works as {wanted!r} does")
    owlv2 = isinstance(profile.size, PadSquare)
    if owlv2 != (profile.resample == "gaussian_linear"):
        raise UnsupportedConfig(
            "resample: only OWLv2's processor resizes with gaussian_linear, and only with it"
        )
    config: dict[str, Any] = {
        **_size(profile.size),
        "do_resize": True,
        "resample": 2 if owlv2 else PIL_NUMBER[profile.resample],
        "do_rescale": output.rescale != 1.0,
        "rescale_factor": output.rescale,
        "do_normalize": output.mean is not None,
        "do_convert_rgb": True,
    }
    if output.mean is not None and output.std is not None:
        config["image_mean"], config["image_std"] = list(output.mean), list(output.std)
    return dict(sorted(config.items()))


def _size(rule: SizeRule) -> dict[str, Any]:
    if isinstance(rule, PadSquare):
        if rule.fill != (0, 0, 0):
            raise UnsupportedConfig("size.fill: OWLv2 pads with 0")
        return _typed("Owlv2", size={"height": rule.height, "width": rule.width}, do_pad=True)
    if isinstance(rule, Edges):
        return _edges(rule)
    if isinstance(rule, LongestEdge):
        return _longest_edge(rule)
    if isinstance(rule, PixelBudget):
        patch, merge = (rule.factor // 2, 2) if rule.factor % 2 == 0 else (rule.factor, 1)
        budget = {"shortest_edge": rule.min_pixels, "longest_edge": rule.max_pixels}
        return _typed("Qwen2VL", size=budget, patch_size=patch, merge_size=merge)
    return _fixed(rule)


def _fixed(rule: SizeRule) -> dict[str, Any]:
    """The rules with a size or a crop fixed in the profile."""
    if isinstance(rule, Stretch):
        return _typed("ViT", size={"height": rule.height, "width": rule.width})
    if isinstance(rule, StretchCrop):
        size = {"height": rule.height, "width": rule.width}
        return _typed("DeiT", size=size, do_center_crop=True, crop_size=_crop(rule.crop))
    if isinstance(rule, ShortestEdge):
        size = {"shortest_edge": rule.edge}
        return _typed("CLIP", size=size, do_center_crop=True, crop_size=_crop(rule.crop))
    if isinstance(rule, MultipleOf):
        size = {"height": rule.height, "width": rule.width}
        return _typed(
            "DPT", size=size, keep_aspect_ratio=rule.keep_aspect,
            ensure_multiple_of=rule.multiple, do_pad=False,
        )  # fmt: skip
    raise UnsupportedConfig(f"size: no Hugging Face processor resizes by {rule.rule}")


def _edges(rule: Edges) -> dict[str, Any]:
    if rule.longest == MAX_SIDE and rule.multiple is None:
        return _typed("CLIP", size={"shortest_edge": rule.shortest}, do_center_crop=False)
    size = {"shortest_edge": rule.shortest, "longest_edge": rule.longest}
    if rule.multiple is None:
        return _typed("Detr", size=size, do_pad=False)
    if rule.multiple == 16:
        return _typed("Yolos", size=size, do_pad=False)
    raise UnsupportedConfig(
        f"size.multiple: only YOLOS cuts to a multiple (16), not {rule.multiple}"
    )


def _longest_edge(rule: LongestEdge) -> dict[str, Any]:
    pad = rule.pad
    if pad is None:
        return _typed("Sam", size={"longest_edge": rule.edge}, do_pad=False)
    if pad.align != "top_left" or pad.normalised != 0.0:
        raise UnsupportedConfig(
            "size.pad: SAM pads at the bottom and right with 0 after normalising"
        )
    pad_size = {"height": pad.height, "width": pad.width}
    return _typed("Sam", size={"longest_edge": rule.edge}, do_pad=True, pad_size=pad_size)


def _typed(family: str, **fields: Any) -> dict[str, Any]:
    return {"image_processor_type": f"{family}ImageProcessor", **fields}


def _crop(crop: tuple[int, int]) -> dict[str, int]:
    return {"height": crop[1], "width": crop[0]}
