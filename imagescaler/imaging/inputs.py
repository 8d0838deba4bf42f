"""What the library's functions take, as users have it: an image as bytes, a path, a binary
file object or a PIL image; a profile, or a built-in profile's name. Anything else is a
TypeError that says what to pass."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import BinaryIO, Union

from PIL import Image

from imagescaler.imaging.builtin_profiles import BUILTIN_PROFILES
from imagescaler.imaging.profiles import Profile

ImageSource = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]", BinaryIO, Image.Image]
# Modes PNG stores as they are; others go to RGB(A) first.
_PNG_MODES = {"1", "L", "LA", "P", "RGB", "RGBA", "I;16"}


def image_bytes(source: ImageSource, function: str = "preprocess") -> bytes:
    """The encoded image. A PIL image is taken as it is shown (upright, no EXIF applied) and
    stored losslessly as PNG."""
    if isinstance(source, bytes):
        return source
    if isinstance(source, bytearray | memoryview):
        return bytes(source)
    if isinstance(source, str | os.PathLike):
        return Path(source).read_bytes()
    if isinstance(source, Image.Image):
        return _png(source)
    if isinstance(source, io.TextIOBase):
        raise TypeError(f"{function}() needs a file opened in binary mode ('rb'), not text")
    read = getattr(source, "read", None)
    if callable(read):
        data = read()
        if isinstance(data, bytes):
            return data
        raise TypeError(f"{function}() needs a file opened in binary mode ('rb'), not text")
    raise TypeError(
        f"{function}() takes the image as bytes, a path, a binary file object or a PIL image, "
        f"not {type(source).__name__}"
    )


def resolve_profile(profile: Profile | str) -> Profile:
    if isinstance(profile, Profile):
        return profile
    if isinstance(profile, str):
        if profile not in BUILTIN_PROFILES:
            raise ValueError(
                f"no built-in profile {profile!r} (there are {', '.join(BUILTIN_PROFILES)}); "
                "pass your own Profile, from load_profiles() for a TOML file"
            )
        return BUILTIN_PROFILES[profile]
    raise TypeError(
        f"profile: a Profile or a built-in profile's name, not {type(profile).__name__}"
    )


def _png(image: Image.Image) -> bytes:
    if image.mode not in _PNG_MODES:
        has_alpha = "A" in image.getbands() or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()
