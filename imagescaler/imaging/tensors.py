"""Pixels to tensors (dtype, layout, rescale, mean and std), and tensors to .npy bytes."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from imagescaler.imaging.profiles import TensorOutput


def to_tensor(image: Image.Image, output: TensorOutput) -> np.ndarray:
    """The image (mode L or RGB) as the profile's tensor: uint8 levels, or float32/float16
    (x * rescale - mean) / std, in HWC or CHW, C-contiguous."""
    pixels = np.asarray(image)
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]
    if output.layout == "CHW":
        pixels = pixels.transpose(2, 0, 1)  # a view; the conversion below lays it out
    if output.dtype == "uint8":
        return np.ascontiguousarray(pixels)
    values = pixels.astype(np.float32, order="C")
    values *= np.float32(output.rescale)
    if output.mean is not None and output.std is not None:
        shape = (-1, 1, 1) if output.layout == "CHW" else (1, 1, -1)
        values -= np.asarray(output.mean, np.float32).reshape(shape)
        values /= np.asarray(output.std, np.float32).reshape(shape)
    return values.astype(np.float16) if output.dtype == "float16" else values


def npy_header(shape: tuple[int, ...], dtype: str) -> bytes:
    """The .npy header for a C-ordered array; the raw little-endian data follows it."""
    buffer = io.BytesIO()
    descr = np.lib.format.dtype_to_descr(np.dtype(dtype).newbyteorder("<"))
    header = {"descr": descr, "fortran_order": False, "shape": tuple(shape)}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    return npy_header(array.shape, str(array.dtype)) + np.ascontiguousarray(array).tobytes()
