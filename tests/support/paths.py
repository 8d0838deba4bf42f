"""Where the checkout and the shared images are."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SHARED_IMAGES = ROOT.parent / "shared" / "images"
