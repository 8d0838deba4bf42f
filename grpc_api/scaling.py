"""The margin rule: scale only when the image is not already close to the target size."""

from __future__ import annotations


def within_margin(size: tuple[int, int], target: tuple[int, int], margin: float) -> bool:
    """True when width and height are each within `margin` (a fraction, inclusive) of the target."""
    return all(
        abs(actual - wanted) <= margin * wanted + 1e-9
        for actual, wanted in zip(size, target, strict=True)
    )


def decide_scaling(size: tuple[int, int], target: tuple[int, int], margin: float) -> bool:
    """Whether to ask the image service to scale an upright image of `size`."""
    return not within_margin(size, target, margin)
