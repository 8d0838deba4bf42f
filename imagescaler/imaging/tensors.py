"""Pixels to tensors (dtype, layout, rescale, mean and std), and tensors to .npy bytes.

A tensor is made in two steps, kept apart so that bulk runs can store the first and training
code apply the second: `to_levels` (uint8, in the profile's layout) and `normalise`."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from imagescaler.imaging.profiles import TensorOutput


def to_tensor(image: Image.Image, output: TensorOutput) -> np.ndarray:
    """The image (mode L or RGB) as the profile's tensor: uint8 levels, or float32/float16
    (x * rescale - mean) / std, in HWC or CHW, C-contiguous."""
    view = _laid_out(image, output.layout)
    return np.ascontiguousarray(view) if output.dtype == "uint8" else normalise(view, output)


def to_levels(image: Image.Image, layout: str) -> np.ndarray:
    """The image's uint8 levels in `layout` (HWC or CHW), C-contiguous."""
    return np.ascontiguousarray(_laid_out(image, layout))


def _laid_out(image: Image.Image, layout: str) -> np.ndarray:
    """A view of the pixels in `layout`; the conversion that follows lays it out."""
    pixels = np.asarray(image)
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]
    return pixels.transpose(2, 0, 1) if layout == "CHW" else pixels


def normalise(levels: np.ndarray, output: TensorOutput) -> np.ndarray:
    """uint8 levels (laid out as `output.layout`) to the profile's tensor. Every step is
    elementwise in float32, so the result does not depend on where the levels were made."""
    if output.dtype == "uint8":
        return np.ascontiguousarray(levels)
    values = levels.astype(np.float32, order="C")
    values *= np.float32(output.rescale)
    if output.mean is not None and output.std is not None:
        shape = (-1, 1, 1) if output.layout == "CHW" else (1, 1, -1)
        values -= np.asarray(output.mean, np.float32).reshape(shape)
        values /= np.asarray(output.std, np.float32).reshape(shape)
    return values.astype(np.float16) if output.dtype == "float16" else values


def fill_padding(
    tensor: np.ndarray, padding: tuple[int, int, int, int], value: float, layout: str
) -> None:
    """Write `value` over the padding [left, top, right, bottom] of a tensor, in place: for
    processors that pad after normalising (SAM pads with 0, which no level normalises to)."""
    left, top, right, bottom = padding
    rows, columns = (1, 2) if layout == "CHW" else (0, 1)
    height, width = tensor.shape[rows], tensor.shape[columns]
    for row_slice, column_slice in (
        (slice(0, top), slice(None)),
        (slice(height - bottom, height), slice(None)),
        (slice(None), slice(0, left)),
        (slice(None), slice(width - right, width)),
    ):
        index: list[slice] = [slice(None)] * 3
        index[rows], index[columns] = row_slice, column_slice
        tensor[tuple(index)] = value


def denormalise(tensor: np.ndarray, output: TensorOutput) -> np.ndarray:
    """A profile's tensor back to levels (0-255, float64, not rounded), in its layout."""
    values = tensor.astype(np.float64)
    if output.dtype == "uint8":
        return values
    if output.mean is not None and output.std is not None:
        shape = (-1, 1, 1) if output.layout == "CHW" else (1, 1, -1)
        values = values * np.asarray(output.std).reshape(shape)
        values += np.asarray(output.mean).reshape(shape)
    return values / output.rescale


def recover_levels(tensor: np.ndarray, output: TensorOutput) -> np.ndarray | None:
    """The uint8 levels that `normalise` turns into exactly `tensor`, or None when no levels
    do (a tensor that was not made from levels by this profile)."""
    if output.dtype == "uint8":
        return tensor if tensor.dtype == np.uint8 else None
    values = tensor.astype(np.float64)
    if output.mean is not None and output.std is not None:
        shape = (-1, 1, 1) if output.layout == "CHW" else (1, 1, -1)
        values = values * np.asarray(output.std).reshape(shape)
        values += np.asarray(output.mean).reshape(shape)
    values /= output.rescale
    if not np.all(np.isfinite(values)) or values.min() < -0.5 or values.max() > 255.5:
        return None
    levels = np.rint(values).astype(np.uint8)
    return levels if np.array_equal(normalise(levels, output), tensor) else None


def npy_header(shape: tuple[int, ...], dtype: str) -> bytes:
    """The .npy header for a C-ordered array; the raw little-endian data follows it."""
    buffer = io.BytesIO()
    descr = np.lib.format.dtype_to_descr(np.dtype(dtype).newbyteorder("<"))
    header = {"descr": descr, "fortran_order": False, "shape": tuple(shape)}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    return npy_header(array.shape, str(array.dtype)) + np.ascontiguousarray(array).tobytes()
