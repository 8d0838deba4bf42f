"""Recognising image bytes: the format allow-list, header reading and clear refusals."""

from __future__ import annotations

import io
import re
import struct
import warnings
from dataclasses import dataclass, field
from typing import Protocol

import pillow_heif
from PIL import Image, UnidentifiedImageError

from imagescaler.imaging.jxl_decoder import decode_jxl
from imagescaler.imaging.jxl_header import JxlHeader, is_jxl, read_jxl_header
from imagescaler.imaging.sniffing import (
    ALLOWED_FORMATS,
    describe_unsupported,
    iso_boxes_complete,
    sniff_allowed,
)
from imagescaler.imaging.structure import StructureLimits, check_structure
from imagescaler.runtime.defaults import MAX_IMAGE_BYTES, MAX_PIXELS
from imagescaler.runtime.errors import CorruptImage, ImageTooLarge, InvalidRequest, UnsupportedImage

_PILLOW_OPENS = tuple(name for name in ALLOWED_FORMATS if name != "JXL")
EXIF_ORIENTATION = 0x0112
TIFF_ORIENTATION = 274
_TRANSPOSED_ORIENTATIONS = frozenset({5, 6, 7, 8})


# HEIC/HEIF through libheif (pillow-heif), converted to 8 bits; primary image only.
pillow_heif.register_heif_opener()


class LimitSettings(Protocol):
    """What limits are read from: any object with these fields (a service's settings); the
    library knows no settings class."""

    @property
    def max_image_bytes(self) -> int: ...
    @property
    def max_pixels(self) -> int: ...
    @property
    def max_jpeg_scans(self) -> int: ...
    @property
    def jxl_cpu_base_seconds(self) -> float: ...
    @property
    def jxl_cpu_seconds_per_megapixel(self) -> float: ...


@dataclass(frozen=True)
class Limits:
    """Size limits every input is checked against before any pixel is decoded."""

    max_bytes: int
    max_pixels: int
    structure: StructureLimits = field(default_factory=StructureLimits)

    @classmethod
    def from_settings(cls, settings: LimitSettings) -> Limits:
        structure = StructureLimits(
            max_jpeg_scans=settings.max_jpeg_scans,
            jxl_cpu_base_seconds=settings.jxl_cpu_base_seconds,
            jxl_cpu_seconds_per_megapixel=settings.jxl_cpu_seconds_per_megapixel,
        )
        return cls(settings.max_image_bytes, settings.max_pixels, structure)


# The library's limits: the services' defaults (runtime/defaults.py).
DEFAULT_LIMITS = Limits(max_bytes=MAX_IMAGE_BYTES, max_pixels=MAX_PIXELS)


@dataclass(frozen=True)
class ImageHeader:
    """What the header says: format, stored size and EXIF orientation."""

    format: str
    stored_width: int
    stored_height: int
    orientation: int = 1

    @property
    def transposed(self) -> bool:
        """Whether the EXIF orientation swaps width and height."""
        return self.orientation in _TRANSPOSED_ORIENTATIONS

    @property
    def upright_size(self) -> tuple[int, int]:
        """Width and height once the EXIF orientation is applied."""
        if self.transposed:
            return self.stored_height, self.stored_width
        return self.stored_width, self.stored_height


def configure_pillow(max_pixels: int) -> None:
    """Once per process: Pillow's own bomb check matches our limit, and its warning is an error."""
    Image.MAX_IMAGE_PIXELS = max_pixels
    warnings.simplefilter("error", Image.DecompressionBombWarning)


def open_image(data: bytes, limits: Limits) -> tuple[Image.Image, ImageHeader]:
    """Open `data` lazily (no pixels decoded) after checking format and limits. JPEG XL is the
    exception: it is decoded here, in a child process under a CPU limit (open_jxl)."""
    check_byte_size(len(data), limits.max_bytes)
    if is_jxl(data):
        return open_jxl(data, limits)
    check_structure(data, limits.structure)
    try:
        image = Image.open(io.BytesIO(data), formats=_PILLOW_OPENS)
    except UnidentifiedImageError:
        allowed_format = sniff_allowed(data)
        if allowed_format is not None:
            raise CorruptImage(f"the {allowed_format} data is damaged or truncated") from None
        raise UnsupportedImage(describe_unsupported(data)) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as bomb:
        # Pillow's own check (set to our limit by configure_pillow) fired before ours; its
        # message has the image's pixel count, which the refusal passes on.
        counted = re.search(r"\((\d+) pixels\)", str(bomb))
        size = f"the image is {int(counted[1]) / 1e6:.1f} megapixels, " if counted else ""
        raise ImageTooLarge(
            f"{size or 'the image has too many pixels: '}over the limit of "
            f"{limits.max_pixels / 1e6:.1f} megapixels"
        ) from None
    except (OSError, SyntaxError, ValueError, RuntimeError, struct.error, EOFError) as error:
        raise CorruptImage(f"the image header is damaged: {_first_line(error)}") from None
    if image.format in ("HEIF", "AVIF") and not iso_boxes_complete(data):
        # libheif fills the tiles of a cut file and decodes it "successfully"; refuse it here.
        raise CorruptImage(f"the {image.format} data is truncated: its last box is cut short")
    header = ImageHeader(image.format or "", image.width, image.height, read_orientation(image))
    check_pixels(image.width, image.height, limits.max_pixels)
    return image, header


def read_header(data: bytes, limits: Limits) -> ImageHeader:
    """Format, size and orientation from the header alone (JPEG XL: never opened)."""
    if is_jxl(data):
        check_byte_size(len(data), limits.max_bytes)
        return jxl_image_header(check_jxl(data, limits))
    image, header = open_image(data, limits)
    image.close()
    return header


def check_jxl(data: bytes, limits: Limits) -> JxlHeader:
    """A JPEG XL's header, read without decoding, within the pixel limit and still."""
    jxl = read_jxl_header(data)
    if jxl.animated:
        raise UnsupportedImage(
            "animated JPEG XL is not supported: its decoder decodes every frame at once; "
            "send a still image (its first frame)"
        )
    check_pixels(jxl.width, jxl.height, limits.max_pixels)
    return jxl


def open_jxl(data: bytes, limits: Limits) -> tuple[Image.Image, ImageHeader]:
    """A still JPEG XL within the limits from its header, then decoded by jxl_decoder; a
    recompressed JPEG is given back as the JPEG, its structure checked like any JPEG's."""
    jxl = check_jxl(data, limits)
    image = decode_jxl(data, limits.structure.jxl_cpu_seconds(jxl.width * jxl.height))
    orientation = 1  # libjxl applied the codestream's; an Exif box's is ignored, as specified
    if isinstance(image, bytes):
        check_structure(image, limits.structure)
        image = Image.open(io.BytesIO(image), formats=("JPEG",))
        orientation = read_orientation(image)  # the JPEG's own, which its codestream carries
    check_pixels(image.width, image.height, limits.max_pixels)
    return image, ImageHeader("JXL", image.width, image.height, orientation)


def jxl_image_header(jxl: JxlHeader) -> ImageHeader:
    return ImageHeader("JXL", jxl.width, jxl.height, jxl.orientation)


def check_byte_size(size: int, max_bytes: int) -> None:
    if size == 0:
        raise InvalidRequest("the image is empty (0 bytes)")
    if size > max_bytes:
        raise ImageTooLarge(f"the image is {size} bytes, over the limit of {max_bytes} bytes")


def check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width < 1 or height < 1:
        raise CorruptImage(f"the image header claims an empty size of {width}x{height}")
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"the image is {width}x{height} = {width * height / 1e6:.1f} megapixels, "
            f"over the limit of {max_pixels / 1e6:.1f} megapixels"
        )


def read_orientation(image: Image.Image) -> int:
    """The EXIF orientation (1-8), 1 when absent or unreadable; never decodes pixels."""
    if image.format == "HEIF":
        return 1  # libheif applies irot/imir and pillow-heif reports the picture upright
    try:
        if image.format == "TIFF":
            value = image.tag_v2.get(TIFF_ORIENTATION, 1)  # type: ignore[attr-defined]
        else:
            raw = image.info.get("exif")
            if not raw:
                return 1
            exif = Image.Exif()
            exif.load(raw)
            value = exif.get(EXIF_ORIENTATION, 1)
        orientation = int(value)
    except (OSError, SyntaxError, ValueError, TypeError, struct.error):
        return 1
    return orientation if 1 <= orientation <= 8 else 1


def _first_line(error: BaseException) -> str:
    """Decoders (libjxl's binding) can put build advice after the first line: not for users."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
