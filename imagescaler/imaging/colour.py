"""Colour normalisation: every input mode to 8-bit L or sRGB RGB, transparency on white."""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageCms

_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_SIXTEEN_BIT_MAX = 65535
_SRGB_NAMES = ("srgb", "iec61966-2.1", "iec 61966-2-1")
# Display P3 shares sRGB's transfer curve: its luma differs from the colour-managed luma by
# 0.36 grey levels on average on the benchmark photo (PSNR 52 dB, below JPEG q90's own noise),
# so a gray result skips the conversion. Colour results are always converted.
_SRGB_CURVE_NAMES = (*_SRGB_NAMES, "display p3")


def to_working_mode(image: Image.Image, grayscale: bool, manage_colour: bool = True) -> Image.Image:
    """Return the image as mode L (when grayscale, or already gray) or sRGB mode RGB.

    manage_colour=False takes the stored values as they are, ignoring an embedded ICC profile,
    as PIL-based training code does (convert("RGB")); the exact profiles use it."""
    image = _flatten_alpha(image)
    image = _to_eight_bit(image)
    if not manage_colour:
        image = image if image.mode in ("L", "RGB") else image.convert("RGB")
    elif image.mode == "CMYK" or (
        image.mode == "RGB" and wants_colour_management(image, grayscale)
    ):
        image = _to_srgb(image)
    elif image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    if grayscale and image.mode != "L":
        image = image.convert("L")  # ITU-R 601-2 luma: L = R*299/1000 + G*587/1000 + B*114/1000
    return image


def wants_colour_management(image: Image.Image, grayscale: bool = False) -> bool:
    """True when an embedded ICC profile must be converted to sRGB for this result."""
    profile = image.info.get("icc_profile")
    if not profile:
        return False
    description = _profile_description(bytes(profile))
    close_enough = _SRGB_CURVE_NAMES if grayscale else _SRGB_NAMES
    return description is not None and not any(name in description for name in close_enough)


def _flatten_alpha(image: Image.Image) -> Image.Image:
    has_transparency = image.mode in _ALPHA_MODES or "transparency" in image.info
    if not has_transparency:
        return image.convert("RGB") if image.mode == "P" else image
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _to_eight_bit(image: Image.Image) -> Image.Image:
    """Map 16-bit and 32-bit gray to 0-255 by range, not by clipping."""
    if image.mode == "1":
        return image.convert("L")
    if image.mode.startswith("I;16"):
        image = image.convert("I")
        return image.point(lambda value: value * (255 / _SIXTEEN_BIT_MAX)).convert("L")
    if image.mode in ("I", "F"):
        low, high = _extrema(image)
        if high <= 255 and low >= 0:
            return image.convert("L")
        top = _SIXTEEN_BIT_MAX if 255 < high <= _SIXTEEN_BIT_MAX and low >= 0 else high - low
        shift = 0 if top == _SIXTEEN_BIT_MAX else low
        scale = 255 / top if top else 0.0
        return image.point(lambda value: (value - shift) * scale).convert("L")
    return image


def _extrema(image: Image.Image) -> tuple[float, float]:
    low, high = image.getextrema()
    assert isinstance(low, int | float) and isinstance(high, int | float)  # single band
    return float(low), float(high)


def _to_srgb(image: Image.Image) -> Image.Image:
    profile = image.info.get("icc_profile")
    if profile:
        transform = _transform_to_srgb(bytes(profile), image.mode)
        if transform is not None:
            converted = ImageCms.applyTransform(image, transform)
            if converted is not None:
                return converted
    return image.convert("RGB")


@lru_cache(maxsize=32)
def _transform_to_srgb(profile: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        return ImageCms.buildTransform(
            source,
            ImageCms.createProfile("sRGB"),
            mode,
            "RGB",
            renderingIntent=ImageCms.Intent.PERCEPTUAL,
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None


@lru_cache(maxsize=64)
def _profile_description(profile: bytes) -> str | None:
    try:
        parsed = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        return ImageCms.getProfileDescription(parsed).strip().lower()
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None
