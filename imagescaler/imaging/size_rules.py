"""Size rules: where a profile puts an image's pixels, as data (layout.py does the sums).

Each rule is written as the models' own processors describe it (their `size`, `crop_size` and
padding), so that a Hugging Face preprocessor_config.json maps onto one rule; docs/
preprocessing.md lists the models each rule serves."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from imagescaler.runtime.defaults import MAX_SIDE

Dimension = Annotated[int, Field(ge=1, le=MAX_SIDE)]
Levels = tuple[int, int, int]


class FrozenModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _grey(cls: type, value: object) -> object:
    return (value, value, value) if isinstance(value, int) else value


def _levels(cls: type, value: Levels) -> Levels:
    if not all(0 <= level <= 255 for level in value):
        raise ValueError("fill levels are 0-255")
    return value


class Stretch(FrozenModel):
    """Exactly width x height; the aspect ratio is not kept."""

    rule: Literal["stretch"] = "stretch"
    width: Dimension
    height: Dimension


class Fit(FrozenModel):
    """Inside width x height, aspect kept; the output is the fitted size."""

    rule: Literal["fit"] = "fit"
    width: Dimension
    height: Dimension


class Cover(FrozenModel):
    """Scaled to fill width x height, aspect kept, then the centre cropped."""

    rule: Literal["cover"] = "cover"
    width: Dimension
    height: Dimension


class Pad(FrozenModel):
    """Letterbox: fitted inside width x height, centred on a canvas of `fill`; with `stride`,
    the canvas shrinks to the smallest multiple of it that holds the image (as YOLO does)."""

    rule: Literal["pad"] = "pad"
    width: Dimension
    height: Dimension
    fill: Levels = (0, 0, 0)
    stride: Annotated[int, Field(ge=1)] | None = None

    _grey = field_validator("fill", mode="before")(_grey)
    _levels = field_validator("fill")(_levels)


class PadSquare(FrozenModel):
    """Padded to a square at the bottom and right with `fill`, then resized to width x height
    (OWLv2, whose processor pads before it resizes)."""

    rule: Literal["pad_square"] = "pad_square"
    width: Dimension
    height: Dimension
    fill: Levels = (0, 0, 0)

    _grey = field_validator("fill", mode="before")(_grey)
    _levels = field_validator("fill")(_levels)


class ShortestEdge(FrozenModel):
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


class StretchCrop(FrozenModel):
    """Exactly width x height (aspect not kept), then the centre `crop` [width, height] cut
    out, its top-left rounded down (DeiT: 256x256, then 224)."""

    rule: Literal["stretch_crop"] = "stretch_crop"
    width: Dimension
    height: Dimension
    crop: tuple[Dimension, Dimension]

    @model_validator(mode="after")
    def _crop_fits(self) -> StretchCrop:
        if self.crop[0] > self.width or self.crop[1] > self.height:
            raise ValueError(
                f"crop {list(self.crop)} must fit in {self.width}x{self.height}, what is cropped"
            )
        return self


class Edges(FrozenModel):
    """The shorter side to `shortest`, unless the longer would then pass `longest`: then the
    longer to `longest`; aspect kept, sides truncated as the DETR processors compute them.
    With `multiple`, each side is then cut down to a multiple of it, as YOLOS does."""

    rule: Literal["edges"] = "edges"
    shortest: Dimension
    longest: Dimension
    multiple: Annotated[int, Field(ge=1, le=1024)] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Edges:
        if self.longest < self.shortest:
            raise ValueError(f"longest {self.longest} is less than shortest {self.shortest}")
        return self


class Padding(FrozenModel):
    """The canvas a resized image is placed on: `align` "top_left" puts the padding at the
    bottom and right (SAM, OWLv2), "centre" around it. The padding is `fill` levels; or, for
    processors that pad after normalising, `normalised` is its value in the tensor (0 for
    SAM), which no level gives."""

    width: Dimension
    height: Dimension
    align: Literal["top_left", "centre"] = "top_left"
    fill: Levels = (0, 0, 0)
    normalised: float | None = None

    _grey = field_validator("fill", mode="before")(_grey)
    _levels = field_validator("fill")(_levels)


class LongestEdge(FrozenModel):
    """The longer side to `edge`, aspect kept, each side rounded half up (SAM); with `pad`,
    then placed on its canvas."""

    rule: Literal["longest_edge"] = "longest_edge"
    edge: Dimension
    pad: Padding | None = None

    @model_validator(mode="after")
    def _canvas_holds(self) -> LongestEdge:
        if self.pad is not None and min(self.pad.width, self.pad.height) < self.edge:
            raise ValueError(
                f"pad {self.pad.width}x{self.pad.height} cannot hold a longest edge of {self.edge}"
            )
        return self


class MultipleOf(FrozenModel):
    """Towards width x height, each side rounded to the nearest multiple of `multiple` (DPT).
    With `keep_aspect`, both sides take one scale: of the two, the one nearer 1 (the image is
    scaled as little as possible), so an output side can pass its target; outputs over
    KEEP_ASPECT_REACH times the larger target side are refused as too extreme."""

    rule: Literal["multiple_of"] = "multiple_of"
    width: Dimension
    height: Dimension
    multiple: Annotated[int, Field(ge=1, le=1024)] = 32
    keep_aspect: bool = False


KEEP_ASPECT_REACH = 4


class PixelBudget(FrozenModel):
    """Each side a multiple of `factor`, the aspect kept as closely as that allows, and the
    area between `min_pixels` and `max_pixels` (Qwen2-VL's smart_resize)."""

    rule: Literal["pixel_budget"] = "pixel_budget"
    factor: Annotated[int, Field(ge=1, le=1024)] = 28
    min_pixels: Annotated[int, Field(ge=1)] = 56 * 56
    max_pixels: Annotated[int, Field(ge=1, le=MAX_SIDE * MAX_SIDE)] = 28 * 28 * 1280

    @model_validator(mode="after")
    def _ordered(self) -> PixelBudget:
        if self.max_pixels < self.min_pixels:
            raise ValueError(f"max_pixels {self.max_pixels} is less than min_pixels")
        if self.max_pixels < self.factor * self.factor:
            raise ValueError(f"max_pixels {self.max_pixels} holds no {self.factor}-pixel square")
        return self


SizeRule = Annotated[
    Stretch
    | Fit
    | Cover
    | Pad
    | ShortestEdge
    | StretchCrop
    | Edges
    | LongestEdge
    | MultipleOf
    | PixelBudget
    | PadSquare,
    Field(discriminator="rule"),
]


def largest_output(rule: SizeRule) -> tuple[int, int]:
    """A box every output of the rule fits in (width, height); the layout refuses an image
    whose output would not (only a keep-aspect multiple_of can reach it)."""
    box: tuple[int, int]
    if isinstance(rule, ShortestEdge | StretchCrop):
        box = rule.crop
    elif isinstance(rule, Edges):
        # Twice the longest edge: an image whose short side rounds to the target is left as
        # it is by DETR's sums, its long side a little over `longest` (1334x600 stays).
        box = 2 * rule.longest, 2 * rule.longest
    elif isinstance(rule, LongestEdge):
        box = (rule.pad.width, rule.pad.height) if rule.pad else (rule.edge, rule.edge)
    elif isinstance(rule, MultipleOf) and rule.keep_aspect:
        reach = KEEP_ASPECT_REACH * max(rule.width, rule.height)
        box = reach, reach
    elif isinstance(rule, MultipleOf):
        box = _up(rule.width, rule.multiple), _up(rule.height, rule.multiple)
    elif isinstance(rule, PixelBudget):
        side = _up(rule.max_pixels // rule.factor, rule.factor)
        box = side, side
    else:
        box = rule.width, rule.height
    return box


def largest_pixels(rule: SizeRule) -> int:
    """The most pixels an output of the rule has."""
    if isinstance(rule, Edges):
        return rule.shortest * rule.longest
    if isinstance(rule, PixelBudget):
        return rule.max_pixels
    if isinstance(rule, MultipleOf) and rule.keep_aspect:
        # One side at its target (give or take the rounding), the other within the reach.
        reach, _ = largest_output(rule)
        return reach * (max(rule.width, rule.height) + rule.multiple)
    width, height = largest_output(rule)
    return width * height


def _up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple
