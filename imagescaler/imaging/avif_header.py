"""What an AVIF's decoder will allocate, read from its AV1 configuration boxes (`av1C`, ISO/IEC
23000-22 and the AV1-ISOBMFF binding) without decoding: bit depth and chroma subsampling."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

# Boxes whose children hold the item properties: meta (a FullBox) > iprp > ipco > av1C.
_CONTAINERS = {b"meta": 4, b"iprp": 0, b"ipco": 0}


@dataclass(frozen=True)
class Av1Config:
    bit_depth: int  # 8, 10 or 12
    monochrome: bool
    subsampling: tuple[int, int]  # (x, y): (1, 1) is 4:2:0, (1, 0) 4:2:2, (0, 0) 4:4:4

    @property
    def planes(self) -> float:
        """Luma and chroma samples per pixel: 3 for 4:4:4, 1.5 for 4:2:0, 1 for monochrome."""
        if self.monochrome:
            return 1.0
        x, y = self.subsampling
        return 1 + 2 / ((1 + x) * (1 + y))

    @property
    def sample_bytes(self) -> int:
        return 2 if self.bit_depth > 8 else 1


# When no av1C can be read: the costliest a decoder can be asked for.
WORST_CASE = Av1Config(bit_depth=12, monochrome=False, subsampling=(0, 0))


def av1_configs(data: bytes) -> list[Av1Config]:
    """Every av1C property of the file, in order (the colour image's and any alpha's)."""
    return [_parse(payload) for payload in _av1c_payloads(data, 0, len(data), depth=0)]


def _av1c_payloads(data: bytes, start: int, end: int, depth: int) -> Iterator[bytes]:
    for kind, body, body_end in _boxes(data, start, end):
        if kind == b"av1C" and body_end - body >= 4:
            yield data[body : body + 4]
        elif kind in _CONTAINERS and depth < 3:
            yield from _av1c_payloads(data, body + _CONTAINERS[kind], body_end, depth + 1)


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, body start, body end) of each box between start and end; stops at a bad one."""
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1 and offset + 16 <= end:
            size, header = struct.unpack_from(">Q", data, offset + 8)[0], 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            return
        yield kind, offset + header, offset + size
        offset += size


def _parse(payload: bytes) -> Av1Config:
    """The fixed four bytes of an AV1CodecConfigurationRecord."""
    profile = payload[1] >> 5
    flags = payload[2]
    high_bitdepth, twelve_bit = bool(flags & 0x40), bool(flags & 0x20)
    depth = (12 if twelve_bit and profile == 2 else 10) if high_bitdepth else 8
    monochrome = bool(flags & 0x10)
    return Av1Config(depth, monochrome, ((flags >> 3) & 1, (flags >> 2) & 1))
