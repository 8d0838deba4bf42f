"""The reference a profile is checked against: a Hugging Face image processor's PIL backend
(no torch), built from a model's preprocessor_config.json, and its output as levels."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from PIL import Image

from imagescaler.imaging.hf_processors import processor_family

# Fields of ours, or of the Hub's files, that are no processor's arguments.
NOT_ARGUMENTS = {"image_processor_type", "feature_extractor_type", "processor_class", "auto_map"}


class ReferenceUnavailable(RuntimeError):
    """The processor cannot be built here: transformers missing, or no PIL backend."""


def build_processor(config: dict[str, Any], processor: str | None = None) -> tuple[Any, str]:
    """The processor (its PIL backend) that `config` describes (as transformers reads it: its
    own defaults for what is left out), and its family; `processor` names a file's type where
    the file does not."""
    family = processor_family(config, processor)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "PyTorch was not found": not needed here
            import transformers
    except ImportError:
        raise ReferenceUnavailable(
            "the check needs transformers: pip install 'imagescaler[parity]'"
        ) from None
    kind = getattr(transformers, f"{family}ImageProcessorPil", None)
    if kind is None:
        raise ReferenceUnavailable(f"transformers has no PIL backend for {family}")
    arguments = {
        key: value
        for key, value in config.items()
        if key not in NOT_ARGUMENTS and not key.startswith("_")
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return kind(**arguments), family


def reference_levels(processor: Any, family: str, upright: Image.Image) -> np.ndarray:
    """What the processor makes of an upright RGB image, as CHW levels (0-255, not rounded):
    its tensor with the normalisation undone. Qwen2-VL's are the pixels before patching."""
    if family == "Qwen2VL":
        size = processor.size  # min and max pixels, as the processor holds them
        factor = processor.patch_size * processor.merge_size
        chw = np.asarray(upright).transpose(2, 0, 1)
        resized = processor.resize(chw, size, processor.resample, factor=factor)
        return np.asarray(resized, np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values: np.ndarray = processor(images=upright, return_tensors="np")["pixel_values"][0]
    values = np.asarray(values, np.float64)
    if processor.do_normalize:
        mean = np.asarray(processor.image_mean, np.float64).reshape(-1, 1, 1)
        std = np.asarray(processor.image_std, np.float64).reshape(-1, 1, 1)
        values = values * std + mean
    if processor.do_rescale:
        values = values / processor.rescale_factor
    return values
