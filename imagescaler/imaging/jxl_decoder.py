"""JPEG XL decoded in a child process that the kernel stops at a CPU limit.

A JPEG XL's work is not bounded by its size: a few KB of modular tree can cost seconds per
megapixel, and libjxl cannot be interrupted from Python. So the decode runs in a child
(jxl_child.py) that the kernel stops at a CPU allowance grown with the pixel count, one thread;
a cancelled job kills the child. The parent reads the pixels straight into the buffer the
image is made on. A recompressed JPEG comes back as its JPEG bytes, for Pillow's own decoder.
Measured (docs/security.md): ~20 ms to start a child; lossless effort 9, the slowest
legitimate encoding seen, decodes at 0.2 s of CPU per megapixel on one thread.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import io
import json
import signal
import struct
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
from PIL import Image

from imagescaler.runtime.cancellation import kill_on_cancel, raise_if_cancelled
from imagescaler.runtime.errors import CorruptImage, ImageTooComplex

CHILD = Path(__file__).with_name("jxl_child.py")
_LENGTH = struct.Struct(">I")
_HEADER_MAX = 1 << 16


def binding_path() -> str:
    """The libjxl binding's extension file (pillow_jxl's), found without importing it: its
    package would register a Pillow plugin that decodes JPEG XL in this process on open."""
    spec = importlib.util.find_spec("pillow_jxl")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pillow-jxl-plugin is not installed")
    folder = Path(next(iter(spec.submodule_search_locations)))
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        if (folder / f"pillow_jxl{suffix}").is_file():
            return str(folder / f"pillow_jxl{suffix}")
    raise RuntimeError(f"pillow-jxl-plugin's extension module is missing from {folder}")


EXTENSION = binding_path()


def decode_jxl(data: bytes, cpu_seconds: float) -> Image.Image | bytes:
    """Decode `data` (a still JPEG XL, its header checked) with `cpu_seconds` of CPU at
    most. Gives the pixels as an image with its ICC profile and Exif in `info`, or, for a
    recompressed JPEG, the JPEG's bytes."""
    seconds = f"{cpu_seconds:.3f}"
    command = [sys.executable, "-I", "-S", str(CHILD), EXTENSION, seconds]
    raise_if_cancelled()
    child = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    with child, kill_on_cancel(child.kill):
        errors, reader = _collect(child.stderr)
        try:
            _send(child, data)
            image = _receive(child)
        except (OSError, ValueError, KeyError, EOFError):
            image = None
        child.wait()
        reader.join()
        raise_if_cancelled()
        if child.returncode != 0 or image is None:
            raise _failure(child.returncode, errors, cpu_seconds)
        return image


def _send(child: subprocess.Popen[bytes], data: bytes) -> None:
    assert child.stdin is not None
    try:
        child.stdin.write(data)
    finally:
        child.stdin.close()


def _receive(child: subprocess.Popen[bytes]) -> Image.Image | bytes:
    assert child.stdout is not None
    out = child.stdout
    (length,) = _LENGTH.unpack(_read_exactly(out, _LENGTH.size))
    if length > _HEADER_MAX:
        raise ValueError("header too long")
    header = json.loads(_read_exactly(out, length))
    pixels_size, icc_size, exif_size = header["sizes"]
    pixels = bytearray(pixels_size)
    _read_into(out, memoryview(pixels))
    icc, exif = _read_exactly(out, icc_size), _read_exactly(out, exif_size)
    if header["jpeg"]:
        return bytes(pixels)
    image = _image_from(header["mode"], (header["width"], header["height"]), pixels)
    if icc:
        image.info["icc_profile"] = icc
    if exif:
        image.info["exif"] = exif
    return image


def _image_from(mode: str, size: tuple[int, int], pixels: bytearray) -> Image.Image:
    """An image on the child's pixel buffer itself (no copy), half floats widened as
    Pillow has no such mode."""
    if mode == "F;16":
        wide = np.frombuffer(pixels, dtype=np.float16).astype(np.float32)
        return Image.fromarray(wide.reshape(size[1], size[0]), mode="F")
    return Image.frombuffer(mode, size, pixels, "raw", mode, 0, 1)


def _read_exactly(stream: io.BufferedReader | object, size: int) -> bytes:
    buffer = bytearray(size)
    _read_into(stream, memoryview(buffer))
    return bytes(buffer)


def _read_into(stream: object, view: memoryview) -> None:
    filled = 0
    while filled < len(view):
        count = stream.readinto(view[filled:])  # type: ignore[attr-defined]
        if not count:
            raise EOFError("the decoder's output ended early")
        filled += count


def _collect(stream: object) -> tuple[list[bytes], threading.Thread]:
    """Read the child's stderr on a thread, so a chatty child cannot block on a full pipe;
    the first 4 KiB are kept."""
    chunks: list[bytes] = []

    def drain() -> None:
        chunks.append(stream.read(4096))  # type: ignore[attr-defined]
        while stream.read(1 << 16):  # type: ignore[attr-defined]
            pass

    reader = threading.Thread(target=drain, daemon=True, name="jxl-stderr")
    reader.start()
    return chunks, reader


def _failure(returncode: int | None, errors: list[bytes], seconds: float) -> Exception:
    if returncode in (-signal.SIGPROF, -signal.SIGXCPU, -signal.SIGKILL):
        return ImageTooComplex(
            f"the JPEG XL image needs more than {seconds:.3g} s of CPU to decode, the limit for "
            "its size (jxl_cpu_base_seconds + jxl_cpu_seconds_per_megapixel); legitimate "
            "encodings need under 0.2 s per megapixel"
        )
    message = b"".join(errors).decode(errors="replace").strip().splitlines()
    reason = message[0][:200] if message else f"the decoder stopped (status {returncode})"
    return CorruptImage(f"the JXL data is damaged or truncated: {reason}")
