"""Resampling Pillow has no filter for: gaussian_linear, scikit-image's resize (a Gaussian
blur against aliasing, then linear interpolation over pixel areas), which OWLv2's processor
uses. Through scipy.ndimage, as the processor does, so the pixels agree."""

from __future__ import annotations

import numpy as np
from PIL import Image


def gaussian_linear(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`image` (L or RGB) resized to `size` (width, height): when shrinking, a Gaussian of
    sigma (factor - 1) / 2 per axis first; then order-1 interpolation with pixel-area
    coordinates (grid_mode), edges mirrored, the result kept within the input's range.
    One channel at a time: the same numbers as the whole array at once (nothing mixes
    channels), a third of the float32 memory."""
    from scipy import ndimage

    bands = []
    for band in image.split():
        values = np.asarray(band, dtype=np.float32)
        factors = np.divide(values.shape, (size[1], size[0]))
        sigma = np.maximum(0, (factors - 1) / 2)
        blurred = ndimage.gaussian_filter(values, sigma, cval=0, mode="mirror")
        del values
        zoomed = ndimage.zoom(blurred, 1 / factors, order=1, mode="mirror", cval=0, grid_mode=True)
        bands.append((zoomed, np.asarray(band).min(), np.asarray(band).max()))
    rounded = [
        Image.fromarray(np.clip(np.rint(np.clip(zoomed, low, high)), 0, 255).astype(np.uint8))
        for zoomed, low, high in bands
    ]
    return rounded[0] if len(rounded) == 1 else Image.merge(image.mode, rounded)
