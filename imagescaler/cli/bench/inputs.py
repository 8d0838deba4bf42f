"""The benchmark's images: shared photos, plus a large PNG, HEIC and AVIF and an exact-size
JPEG made once from them."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

import imagescaler.imaging.formats  # noqa: F401 - registers the HEIF opener and saver

CACHE = Path(".bench") / "inputs"
PNG_LABEL = "8 MP PNG"  # the PNG the targets are checked on


@dataclass(frozen=True)
class BenchImage:
    label: str
    path: Path

    @property
    def data(self) -> bytes:
        return self.path.read_bytes()

    @property
    def is_jpeg(self) -> bool:
        return self.path.suffix.lower() in (".jpg", ".jpeg")


def full_set(shared: Path) -> list[BenchImage]:
    return [
        BenchImage("12 MP JPEG (phone, EXIF 6)", shared / "phone_4032x3024_exif6.jpg"),
        BenchImage("24 MP JPEG", shared / "night_4000x6000.jpg"),
        BenchImage(PNG_LABEL, _derived(shared / "leaf_3264x2448.jpg", "leaf_3264x2448.png", None)),
        BenchImage(
            "12 MP HEIC", _derived(shared / "phone_4032x3024_exif6.jpg", "phone_12mp.heic", None)
        ),
        BenchImage(
            "12 MP AVIF", _derived(shared / "phone_4032x3024_exif6.jpg", "phone_12mp.avif", None)
        ),
        BenchImage(
            "1024x768 JPEG",
            _derived(shared / "leaf_3264x2448.jpg", "leaf_1024x768.jpg", (1024, 768)),
        ),
    ]


def quick_set(shared: Path) -> list[BenchImage]:
    return [
        BenchImage("1.8 MP JPEG", shared / "hotdog_1400x1316.jpg"),
        BenchImage("small PNG", shared / "rgba_400x300.png"),
    ]


_FORMATS_BY_SUFFIX = {".png": "PNG", ".heic": "HEIF", ".avif": "AVIF"}


def _derived(source: Path, name: str, size: tuple[int, int] | None) -> Path:
    target = CACHE / name
    if not target.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with Image.open(source) as opened:
            image = ImageOps.exif_transpose(opened).convert("RGB")
        if size is not None:
            image = image.resize(size, Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        fmt = _FORMATS_BY_SUFFIX.get(target.suffix, "JPEG")
        image.save(buffer, fmt, quality=90, **({"speed": 8} if fmt == "AVIF" else {}))
        target.write_bytes(buffer.getvalue())
    return target
