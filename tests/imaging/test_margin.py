"""The margin rule at its edges: within it, ScaleImage (the `default` profile) keeps the size."""

from __future__ import annotations

import pytest

from imagescaler.imaging.builtin_profiles import default_profile
from imagescaler.imaging.layout import plan_layout


def kept(size: tuple[int, int], target: tuple[int, int], margin: float) -> bool:
    return plan_layout(size, default_profile(target=target, margin=margin)).margin_skipped


@pytest.mark.parametrize(
    ("size", "keep"),
    [
        ((1000, 800), True),  # the target itself
        ((1050, 840), True),  # exactly 5% over in both
        ((950, 760), True),  # exactly 5% under in both
        ((1051, 800), False),  # just over in width
        ((1000, 759), False),  # just under in height
        ((1050, 700), False),  # one inside, one outside
    ],
)
def test_margin_edges(size: tuple[int, int], keep: bool) -> None:
    assert kept(size, (1000, 800), 0.05) is keep


def test_default_target_1010x760_is_kept() -> None:
    assert kept((1010, 760), (1024, 768), 0.05)


def test_zero_margin_resizes_anything_not_exact() -> None:
    layout = plan_layout((1024, 768), default_profile(margin=0.0))
    assert layout.resized == (1024, 768) and layout.crop_box == (0, 0, 1024, 768)
    assert not kept((1023, 768), (1024, 768), 0.0)


@pytest.mark.parametrize("size", [(1075, 806), (1030, 772), (973, 730)])
def test_an_image_up_to_the_margin_over_its_target_is_served_as_it_is(
    size: tuple[int, int],
) -> None:
    """The largest output the limits allow includes the margin: 1075x806 is 5 % over."""
    from PIL import Image

    from imagescaler.imaging.preprocess import preprocess

    result = preprocess(Image.new("RGB", size, (90, 120, 150)), "default")
    assert result.geometry.margin_skipped and result.geometry.output_size == size
