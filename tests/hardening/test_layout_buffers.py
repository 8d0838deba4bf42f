"""Buffers a profile makes after the decode: a shortest-edge profile resizes the whole image
before cropping, so an 89-byte 1x4000 PNG would become 256x1024000 (1 GB). Such a layout is
refused before any pixel is decoded; the buffers of every accepted one are in the estimate,
which covers the peak measured in a fresh process."""

from __future__ import annotations

import subprocess
import sys

import pytest
from PIL import Image

from imagescaler.imaging import preprocess as preprocess_module
from imagescaler.imaging.builtin_profiles import BUILTIN_PROFILES
from imagescaler.imaging.decode_cost import estimate_decode_bytes, layout_bytes
from imagescaler.imaging.formats import DEFAULT_LIMITS, open_image
from imagescaler.imaging.layout import plan_layout
from imagescaler.imaging.preprocess import preprocess
from imagescaler.runtime.errors import ImageTooLarge
from imagescaler.runtime.memory_budget import MemoryBudget
from tests.support.images import encode
from tests.support.paths import ROOT

MiB = 1 << 20


def strip(width: int, height: int) -> bytes:
    return encode(Image.new("RGB", (width, height), (90, 120, 150)), "PNG", optimize=True)


@pytest.mark.parametrize("profile", ["imagenet-224", "clip-224"])
def test_an_extreme_aspect_ratio_is_refused_before_decoding(
    profile: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded = []
    monkeypatch.setattr(preprocess_module, "decode", lambda *a: decoded.append(a))
    data = strip(1, 4000)
    assert len(data) < 120
    with pytest.raises(
        ImageTooLarge, match=r"to 2\d\dx\d+000 = .* over the limit of 50.0 megapixels"
    ):
        preprocess(data, BUILTIN_PROFILES[profile])
    assert decoded == []


def test_the_buffers_count_against_the_budget() -> None:
    """1x150 is allowed (256x38400 before the crop, 9.8 MP), and needs about 60 MiB: a
    budget of 40 MiB refuses it, naming both."""
    data = strip(1, 150)
    with pytest.raises(ImageTooLarge, match=r"needs about \d+ MiB, more than the 40 MiB"):
        preprocess(data, BUILTIN_PROFILES["imagenet-224"], budget=MemoryBudget(40 * MiB))
    assert preprocess(data, BUILTIN_PROFILES["imagenet-224"]).array.shape == (3, 224, 224)


PEAK_PROBE = """
import sys
from tests.hardening.test_layout_buffers import strip
from imagescaler.imaging.preprocess import preprocess
from imagescaler.imaging.builtin_profiles import BUILTIN_PROFILES
data = strip(int(sys.argv[1]), int(sys.argv[2]))
def status(key):
    return next(int(l.split()[1]) << 10 for l in open("/proc/self/status") if l.startswith(key))
open("/proc/self/clear_refs", "w").write("5")  # resets the peak (VmHWM) to now
before = status("VmRSS")
preprocess(data, BUILTIN_PROFILES[sys.argv[3]])
print(status("VmHWM") - before)
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("size", "profile"),
    [
        ((1, 190), "imagenet-224"),
        ((190, 1), "clip-224"),
        ((8000, 6), "yolo-640"),
        # OWLv2 pads to a square and resizes it in float32: a 3000x40 strip is 9 MP of square
        ((3000, 40), "owlv2-960"),
        ((2000, 1500), "owlv2-960"),
    ],
)
def test_the_estimate_covers_the_measured_peak(size: tuple[int, int], profile: str) -> None:
    data = strip(*size)
    image, header = open_image(data, DEFAULT_LIMITS)
    layout = plan_layout(header.upright_size, BUILTIN_PROFILES[profile])
    estimate = estimate_decode_bytes(data, image, header, None) + layout_bytes(
        layout, BUILTIN_PROFILES[profile]
    )
    probe = subprocess.run(
        [sys.executable, "-c", PEAK_PROBE, *map(str, size), profile],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    peak = int(probe.stdout)
    assert peak <= estimate, f"peak {peak / MiB:.0f} MiB over the estimate {estimate / MiB:.0f}"
    print(f"{size} {profile}: peak {peak / MiB:.0f} MiB, estimate {estimate / MiB:.0f} MiB")
