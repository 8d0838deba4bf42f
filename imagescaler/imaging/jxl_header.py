"""JPEG XL's size, orientation and animation flag, read from the codestream's first bytes.

The JPEG XL plugin decodes the whole image (every frame of an animation) when it opens a
file, so nothing may open one before its size is checked and its memory reserved. This reads
the SizeHeader and the start of the ImageMetadata (ISO/IEC 18181-1, sections A.2 and A.6)
from a bare codestream or from the jxlc/jxlp box of the container, without decoding."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from imagescaler.runtime.errors import CorruptImage

CODESTREAM = b"\xff\x0a"
CONTAINER = b"\x00\x00\x00\x0cJXL \r\n\x87\n"
# The width of each size ratio (A.2), as a fraction of the height.
RATIOS = {1: (1, 1), 2: (12, 10), 3: (4, 3), 4: (3, 2), 5: (16, 9), 6: (5, 4), 7: (2, 1)}
# U32 distributions (A.3.1.4): each is (offset, bits).
_SIZE = ((1, 9), (1, 13), (1, 18), (1, 30))
_PREVIEW_DIV8 = ((16, 0), (32, 0), (1, 5), (33, 9))
_PREVIEW = ((1, 6), (65, 8), (321, 10), (1345, 12))


_ENUM = ((0, 0), (1, 0), (2, 4), (18, 6))
_BITS_INTEGER = ((8, 0), (10, 0), (12, 0), (1, 6))
_BITS_FLOAT = ((32, 0), (16, 0), (24, 0), (1, 6))
_EXTRA_CHANNELS = ((0, 0), (1, 0), (2, 4), (1, 12))
_DIM_SHIFT = ((0, 0), (3, 0), (4, 0), (1, 3))
_NAME_LENGTH = ((0, 0), (0, 4), (16, 5), (48, 10))
_CFA_CHANNEL = ((1, 0), (0, 2), (3, 4), (19, 8))
ALPHA, SPOT_COLOUR, CFA = 0, 2, 5
GREY = 1  # colour_space


@dataclass(frozen=True)
class JxlHeader:
    width: int
    height: int
    orientation: int = 1
    animated: bool = False  # when animated, the fields below are not read
    bits: int = 8  # per sample
    alpha: bool = False
    grey: bool = False
    icc: bool = False  # an ICC profile is embedded
    extra_channels: int = 0  # alpha, depth, spot colours, ...

    @property
    def channels(self) -> int:
        """The planes libjxl decodes: colour and every extra channel."""
        return (1 if self.grey else 3) + self.extra_channels

    @property
    def mode(self) -> str:
        """The mode the JPEG XL plugin gives such an image."""
        if self.grey and not self.alpha and self.bits > 8:
            return "I;16"
        return ("L" if self.grey else "RGB") + ("A" if self.alpha else "")


def is_jxl(data: bytes) -> bool:
    return data.startswith((CODESTREAM, CONTAINER))


class _Bits:
    """Bits of a byte string, least significant first, as JPEG XL reads them."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._position = 0

    def read(self, count: int) -> int:
        value = 0
        for shift in range(count):
            byte, bit = divmod(self._position, 8)
            if byte >= len(self._data):
                raise CorruptImage("the JPEG XL header is cut short")
            value |= ((self._data[byte] >> bit) & 1) << shift
            self._position += 1
        return value

    def flag(self) -> bool:
        return self.read(1) == 1

    def u32(self, distribution: tuple[tuple[int, int], ...]) -> int:
        offset, bits = distribution[self.read(2)]
        return offset + self.read(bits)

    def size(self, div8_distribution: tuple[tuple[int, int], ...] | None = None,
             distribution: tuple[tuple[int, int], ...] = _SIZE) -> tuple[int, int]:  # fmt: skip
        """A SizeHeader (or, with the preview's distributions, a PreviewHeader)."""
        div8 = self.flag()
        height = self._dimension(div8, div8_distribution, distribution)
        ratio = self.read(3)
        if ratio:
            numerator, denominator = RATIOS[ratio]
            return height * numerator // denominator, height
        return self._dimension(div8, div8_distribution, distribution), height

    def _dimension(
        self,
        div8: bool,
        div8_distribution: tuple[tuple[int, int], ...] | None,
        distribution: tuple[tuple[int, int], ...],
    ) -> int:
        if not div8:
            return self.u32(distribution)
        return 8 * (self.u32(div8_distribution) if div8_distribution else 1 + self.read(5))


def read_jxl_header(data: bytes) -> JxlHeader:
    """Size, orientation, animation, bit depth, alpha and grey; CorruptImage when cut short."""
    bits = _Bits(codestream_start(data)[len(CODESTREAM) :])
    width, height = bits.size()
    if bits.flag():  # all_default: 8-bit RGB, no extra channel
        return JxlHeader(width, height)
    orientation = 1
    if bits.flag():  # extra_fields
        orientation = 1 + bits.read(3)
        if bits.flag():  # an intrinsic size: where to display it, not what is stored
            bits.size()
        if bits.flag():  # a preview
            bits.size(_PREVIEW_DIV8, _PREVIEW)
        if bits.flag():
            return JxlHeader(width, height, orientation, animated=True)
    depth = _bit_depth(bits)
    bits.flag()  # modular_16bit_buffers
    alpha = False
    extra_channels = bits.u32(_EXTRA_CHANNELS)
    for _ in range(extra_channels):
        alpha |= _extra_channel_is_alpha(bits)
    bits.flag()  # xyb_encoded
    grey = icc = False
    if not bits.flag():  # the colour encoding is not the default sRGB
        icc = bits.flag()  # the colour space is given all the same
        grey = bits.u32(_ENUM) == GREY
    return JxlHeader(
        width, height, orientation, bits=depth, alpha=alpha, grey=grey, icc=icc,
        extra_channels=extra_channels,
    )  # fmt: skip


def _bit_depth(bits: _Bits) -> int:
    if not bits.flag():
        return bits.u32(_BITS_INTEGER)
    depth = bits.u32(_BITS_FLOAT)
    bits.read(4)  # exponent bits
    return depth


def _extra_channel_is_alpha(bits: _Bits) -> bool:
    """Reads one ExtraChannelInfo (A.6, table A.17)."""
    if bits.flag():  # d_alpha: an 8-bit alpha channel with the defaults
        return True
    kind = bits.u32(_ENUM)
    _bit_depth(bits)
    bits.u32(_DIM_SHIFT)
    bits.read(8 * bits.u32(_NAME_LENGTH))
    if kind == ALPHA:
        bits.flag()  # alpha_associated
    elif kind == SPOT_COLOUR:
        bits.read(4 * 16)
    elif kind == CFA:
        bits.u32(_CFA_CHANNEL)
    return kind == ALPHA


def codestream_start(data: bytes) -> bytes:
    """The first bytes of the codestream: the data itself, or its container's jxlc or first
    jxlp box."""
    if data.startswith(CODESTREAM):
        return data
    if not data.startswith(CONTAINER):
        raise CorruptImage("not a JPEG XL codestream or container")
    position = len(CONTAINER)
    while position + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, position)
        header = 8
        if size == 1:
            if position + 16 > len(data):
                break
            (size,) = struct.unpack_from(">Q", data, position + 8)
            header = 16
        end = len(data) if size == 0 else position + size
        if kind == b"jxlc":
            return data[position + header : end]
        if kind == b"jxlp":
            return data[position + header + 4 : end]  # after the part's index
        if size < header:
            break
        position = end
    raise CorruptImage("the JPEG XL container has no codestream box")
