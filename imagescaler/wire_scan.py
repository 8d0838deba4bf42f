"""One bytes field cut out of a serialised protobuf message without parsing the message:
protobuf's own parser copies every bytes field into its memory, and reading the field copies
it again, so a 21 MB upload was held three times while its request was parsed.

Only field keys and lengths are read (a handful per message); anything this does not expect
(a group, a truncated message) is left to protobuf's parser, which gives the usual error."""

from __future__ import annotations

from collections.abc import Iterator

_LENGTH_DELIMITED = 2
_FIXED = {1: 8, 5: 4}  # wire types of fixed size: 64-bit and 32-bit
# protobuf reads a key or a length in at most 5 bytes, and a value in at most 10.
_KEY_OR_LENGTH_BYTES, _VALUE_BYTES = 5, 10
_MAX_KEY = 2**32 - 1
# A message of many small fields is protobuf's to read: scanning it here, a field per Python
# step, would hold the event loop (2 MB of 2-byte fields took 0.5 s against protobuf's 16 ms).
MAX_FIELDS = 64


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


def _read_varint(view: memoryview, pos: int, end: int, most: int) -> tuple[int, int]:
    value = shift = 0
    stop = min(end, pos + most)
    while pos < stop:
        byte = view[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if byte < 0x80:
            return value, pos
        shift += 7
    raise Unexpected("a varint longer than protobuf reads, or past its message")


def _fields(view: memoryview, start: int, end: int) -> Iterator[tuple[int, int, int, int, int]]:
    """(number, wire type, key start, value start, value end) of each field in the region."""
    pos = start
    for _ in range(MAX_FIELDS):
        if pos >= end:
            return
        key, value_start = _read_varint(view, pos, end, _KEY_OR_LENGTH_BYTES)
        number, wire = key >> 3, key & 7
        if key > _MAX_KEY or number == 0:
            raise Unexpected(f"field number {number}")
        if wire == 0:
            value_end = _read_varint(view, value_start, end, _VALUE_BYTES)[1]
        elif wire in _FIXED:
            value_end = value_start + _FIXED[wire]
        elif wire == _LENGTH_DELIMITED:
            length, value_start = _read_varint(view, value_start, end, _KEY_OR_LENGTH_BYTES)
            value_end = value_start + length
        else:
            raise Unexpected(f"wire type {wire}")
        if value_end > end:
            raise Unexpected("a field runs past its message")
        yield number, wire, pos, value_start, value_end
        pos = value_end
    if pos < end:
        raise Unexpected(f"more than {MAX_FIELDS} fields")


def cut_field(raw: bytes, numbers: list[int]) -> tuple[bytes, list[memoryview]]:
    """The message without the length-delimited field at the path of field `numbers` (each
    sub-message that held it re-written with its new length), and that field's values as
    views of `raw`, in wire order; `raw` itself when there is none. Raises Unexpected on
    bytes it does not read."""
    kept, found = _cut(memoryview(raw), 0, len(raw), numbers)
    return (b"".join(kept) if found else raw), found


def _cut(
    view: memoryview, start: int, end: int, numbers: list[int]
) -> tuple[list[bytes | memoryview], list[memoryview]]:
    """The region's pieces with the field left out, and the field's values."""
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
            inner_kept, inner_found = _cut(view, value_start, value_end, numbers[1:])
            if not inner_found:
                continue
            found += inner_found
            inner = b"".join(inner_kept)
            key = varint(number << 3 | _LENGTH_DELIMITED)
            kept += [view[copied_to:key_start], key, varint(len(inner)), inner]
        copied_to = value_end
    kept.append(view[copied_to:end])
    return kept, found
