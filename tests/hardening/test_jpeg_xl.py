"""JPEG XL without decoding first: its plugin decodes the whole image (every frame) while it
opens a file, so the size, the animation flag and the memory come from the codestream's header.

Round 3 found a 34 KB 16000x16000 JXL took the API from 185 to 1,417 MiB before its 413, a
7000x7000 one was decoded before the budget refused it, and 1,000 frames took 34.5 s."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from imagescaler.imaging.builtin_profiles import BUILTIN_PROFILES
from imagescaler.imaging.formats import DEFAULT_LIMITS, Limits, open_image, read_header
from imagescaler.imaging.inspection import inspect_image
from imagescaler.imaging.jxl_header import read_jxl_header
from imagescaler.imaging.preprocess import preprocess
from imagescaler.runtime.errors import CorruptImage, ImageTooLarge, UnsupportedImage
from imagescaler.runtime.memory_budget import MemoryBudget
from tests.support.paths import ROOT

SAMPLES = ROOT / "tests" / "imaging" / "jxl"
STILLS = sorted(p.name for p in SAMPLES.glob("*.jxl") if p.name != "anim.jxl")
MiB = 1 << 20


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def codestream(width: int, height: int) -> bytes:
    """A bare codestream whose SizeHeader claims width x height (30-bit fields), then the
    default metadata and bytes no decoder could use."""
    bits = [0]  # not div8
    for value in (height,):
        bits += [1, 1] + [((value - 1) >> i) & 1 for i in range(30)]
    bits += [0, 0, 0]  # no ratio: the width follows
    bits += [1, 1] + [((width - 1) >> i) & 1 for i in range(30)]
    bits += [1]  # all_default metadata
    bits += [0] * (-len(bits) % 8)
    packed = bytes(
        sum(bit << i for i, bit in enumerate(bits[n : n + 8])) for n in range(0, len(bits), 8)
    )
    return b"\xff\x0a" + packed + b"\x00" * 32


@pytest.fixture
def no_open(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fails the test if Pillow is asked to open (and so the plugin to decode) anything."""
    opened: list[str] = []
    real = Image.open

    def spy(*args: object, **kwargs: object) -> Image.Image:
        opened.append("open")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Image, "open", spy)
    return opened


@pytest.mark.parametrize("name", STILLS)
def test_the_header_says_what_the_decoder_gives(name: str) -> None:
    data = sample(name)
    header = read_header(data, DEFAULT_LIMITS)  # from the codestream alone
    image, opened = open_image(data, DEFAULT_LIMITS)  # the plugin's own view
    with image:
        assert header.upright_size == opened.upright_size
        assert read_jxl_header(data).mode == image.mode
        facts = inspect_image(data, DEFAULT_LIMITS)
        assert facts.mode == image.mode and facts.upright_size == opened.upright_size


def test_a_16000_square_is_refused_from_its_header(no_open: list[str]) -> None:
    data = codestream(16000, 16000)
    assert read_jxl_header(data).width == 16000
    for read in (read_header, inspect_image):
        with pytest.raises(ImageTooLarge, match=r"16000x16000 = 256\.0 megapixels, over the limit"):
            read(data, DEFAULT_LIMITS)
    with pytest.raises(ImageTooLarge, match="16000x16000"):
        preprocess(data, BUILTIN_PROFILES["yolo-640"])
    assert no_open == []


def test_an_animation_is_refused_with_a_clear_reason(no_open: list[str]) -> None:
    data = sample("anim.jxl")
    for call in (
        lambda: read_header(data, DEFAULT_LIMITS),
        lambda: inspect_image(data, DEFAULT_LIMITS),
        lambda: preprocess(data, BUILTIN_PROFILES["yolo-640"]),
    ):
        with pytest.raises(UnsupportedImage, match="animated JPEG XL is not supported"):
            call()
    assert no_open == []


def test_a_cut_header_is_corrupt() -> None:
    with pytest.raises(CorruptImage, match="cut short"):
        read_jxl_header(codestream(100, 100)[:5])
    with pytest.raises(CorruptImage, match="no codestream box"):
        read_jxl_header(sample("container.jxl")[:32])


def test_the_budget_refuses_a_7000_square_before_decoding_it(no_open: list[str]) -> None:
    data = sample("solid_7000x7000.jxl")
    assert len(data) < 4096
    with pytest.raises(ImageTooLarge, match=r"needs about \d+ MiB, more than the 320 MiB"):
        preprocess(data, BUILTIN_PROFILES["yolo-640"], DEFAULT_LIMITS, MemoryBudget(320 * MiB))
    assert no_open == []
    facts = inspect_image(data, Limits(max_bytes=1 << 20, max_pixels=50_000_000))
    assert facts.stored_size == (7000, 7000) and no_open == []


PEAK_PROBE = """
import resource, sys
from imagescaler.imaging.preprocess import preprocess
from imagescaler.imaging.builtin_profiles import BUILTIN_PROFILES
data = open(sys.argv[1], "rb").read()
def status(key):
    return next(int(l.split()[1]) << 10 for l in open("/proc/self/status") if l.startswith(key))
open("/proc/self/clear_refs", "w").write("5")  # resets the peak (VmHWM) to now
before = status("VmRSS")
preprocess(data, BUILTIN_PROFILES["yolo-640"])
child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss << 10  # the decoder's peak
print(status("VmHWM") - before, child)
"""


@pytest.mark.slow
def test_the_estimate_covers_the_measured_peak_of_a_7000_square() -> None:
    from imagescaler.imaging.decode_cost import layout_bytes, reserve_jxl
    from imagescaler.imaging.layout import plan_layout

    path = SAMPLES / "solid_7000x7000.jxl"
    jxl = read_jxl_header(path.read_bytes())
    layout = plan_layout((jxl.width, jxl.height), BUILTIN_PROFILES["yolo-640"])
    budget = MemoryBudget(4096 * MiB)
    with reserve_jxl(budget, jxl, layout_bytes(layout, BUILTIN_PROFILES["yolo-640"])):
        estimate = budget.in_use
    probe = subprocess.run(
        [sys.executable, "-c", PEAK_PROBE, str(path)],
        capture_output=True, text=True, check=True, cwd=Path(ROOT),
    )  # fmt: skip
    parent, child = map(int, probe.stdout.split())
    peak = parent + child  # at most: the child's peak and the parent's need not coincide
    print(
        f"7000x7000 JXL: peak {peak / MiB:.0f} MiB ({parent / MiB:.0f} here, "
        f"{child / MiB:.0f} in the decoder), estimate {estimate / MiB:.0f} MiB"
    )
    assert child > 100 * MiB and 150 * MiB < peak <= estimate
