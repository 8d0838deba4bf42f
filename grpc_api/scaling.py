"""The margin rule: scale only when the image is not already close to the target size."""

from __future__ import annotations

from imagescaler.imaging.geometry import within_margin


def decide_scaling(size: tuple[int, int], target: tuple[int, int], margin: float) -> bool:
    """Whether to ask the image service to scale an upright image of `size`."""
    return not within_margin(size, target, margin)
