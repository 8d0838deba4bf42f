"""One bytes field cut out of a serialised protobuf message without parsing the message:
protobuf's own parser copies every bytes field into its memory, and reading the field copies
it again, so a 21 MB upload was held three times while its request was parsed.

Only field keys and lengths are read (a handful per message); anything this does not expect
(a group, a truncated message) is left to protobuf's parser, which gives the usual error."""

from __future__ import annotations

from collections.abc import Iterator

_LENGTH_DELIMITED = 2
_FIXED = {1: 8, 5: 4}  # wire types of fixed size: 64-bit and 32-bit


class Unexpected(Exception):
    """The bytes are not what this scanner reads; protobuf's parser decides."""


def varint(value: int) -> bytes:
    """Protobuf's base-128 varint of a non-negative integer."""
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _read_varint(view: memoryview, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while pos < end and shift < 64:
        byte = view[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if byte < 0x80:
            return value, pos
        shift += 7
    raise Unexpected("a varint runs past its message")


def _fields(view: memoryview, start: int, end: int) -> Iterator[tuple[int, int, int, int, int]]:
    """(number, wire type, key start, value start, value end) of each field in the region."""
    pos = start
    while pos < end:
        key, value_start = _read_varint(view, pos, end)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value_end = _read_varint(view, value_start, end)[1]
        elif wire in _FIXED:
            value_end = value_start + _FIXED[wire]
        elif wire == _LENGTH_DELIMITED:
            length, value_start = _read_varint(view, value_start, end)
            value_end = value_start + length
        else:
            raise Unexpected(f"wire type {wire}")
        if value_end > end:
            raise Unexpected("a field runs past its message")
        yield number, wire, pos, value_start, value_end
        pos = value_end


def cut_field(raw: bytes, numbers: list[int]) -> tuple[bytes, list[memoryview]]:
    """The message without the length-delimited field at the path of field `numbers` (each
    sub-message that held it re-written with its new length), and that field's values as
    views of `raw`, in wire order. Raises Unexpected on bytes it does not read."""
    return _cut(memoryview(raw), 0, len(raw), numbers)


def _cut(
    view: memoryview, start: int, end: int, numbers: list[int]
) -> tuple[bytes, list[memoryview]]:
    kept: list[bytes | memoryview] = []
    found: list[memoryview] = []
    copied_to = start
    for number, wire, key_start, value_start, value_end in _fields(view, start, end):
        if number != numbers[0] or wire != _LENGTH_DELIMITED:
            continue
        if len(numbers) == 1:
            found.append(view[value_start:value_end])
            kept.append(view[copied_to:key_start])
        else:
            inner, inner_found = _cut(view, value_start, value_end, numbers[1:])
            if not inner_found:
                continue
            found += inner_found
            key = varint(number << 3 | _LENGTH_DELIMITED)
            kept += [view[copied_to:key_start], key, varint(len(inner)), inner]
        copied_to = value_end
    kept.append(view[copied_to:end])
    return b"".join(kept), found
