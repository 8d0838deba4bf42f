"""The margin rule at its edges."""

from __future__ import annotations

import pytest

from grpc_api.scaling import decide_scaling


@pytest.mark.parametrize(
    ("size", "scale"),
    [
        ((1000, 800), False),  # the target itself
        ((1050, 840), False),  # exactly 5% over in both
        ((950, 760), False),  # exactly 5% under in both
        ((1051, 800), True),  # just over in width
        ((1000, 759), True),  # just under in height
        ((1050, 700), True),  # one inside, one outside
    ],
)
def test_margin_edges(size: tuple[int, int], scale: bool) -> None:
    assert decide_scaling(size, (1000, 800), 0.05) is scale


def test_default_target_1010x760_is_kept() -> None:
    assert decide_scaling((1010, 760), (1024, 768), 0.05) is False


def test_zero_margin_scales_anything_not_exact() -> None:
    assert decide_scaling((1024, 768), (1024, 768), 0.0) is False
    assert decide_scaling((1023, 768), (1024, 768), 0.0) is True
