"""A spy on every way a pixel gets decoded: "refused before decoding" checked by what was
called, not by how long it took."""

from __future__ import annotations

from typing import Any

import pytest
from PIL import Image

from imagescaler.imaging import decoding, formats


def spy_on_decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each decode: Pillow's load, libjpeg-turbo's and libvips' scaled decodes, and the
    JPEG XL child. The list stays empty while nothing is decoded."""
    calls: list[str] = []

    def spied(name: str, real: Any) -> Any:
        def spy(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return real(*args, **kwargs)

        return spy

    monkeypatch.setattr(Image.Image, "load", spied("Image.load", Image.Image.load))
    monkeypatch.setattr(decoding, "decode_jpeg", spied("decode_jpeg", decoding.decode_jpeg))
    monkeypatch.setattr(decoding, "decode_png", spied("decode_png", decoding.decode_png))
    monkeypatch.setattr(formats, "decode_jxl", spied("decode_jxl", formats.decode_jxl))
    return calls
