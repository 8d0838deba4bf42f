"""imagescaler: image pre-processing for machine-learning pipelines.

The library that the service runs, for training code (no gRPC needed):

    from imagescaler import BUILTIN_PROFILES, preprocess
    result = preprocess("photo.jpg", "imagenet-224")  # or bytes, a file, a PIL image
    result.array, result.geometry, result.profile

Its names load on first use (PEP 562), so the command line, the services and the container's
health probe do not pay for the imaging stack when they do not use it.

Layers, each importing only those below it (pyproject.toml's import-linter contracts):
the command line (imagescaler.cli) -> the services (grpc_api, image_service, rest_gateway)
and the shards (imagescaler.shards: layout, writer, training loader) -> the pure imaging
library (imagescaler.imaging) -> the runtime (imagescaler.runtime)."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Limits": "imagescaler.imaging.formats",
    "ImageFacts": "imagescaler.imaging.inspection",
    "inspect_image": "imagescaler.imaging.inspection",
    "Geometry": "imagescaler.imaging.mapping",
    "Result": "imagescaler.imaging.preprocess",
    "preprocess": "imagescaler.imaging.preprocess",
    "BUILTIN_PROFILES": "imagescaler.imaging.builtin_profiles",
    "Profile": "imagescaler.imaging.profiles",
    "ProfilesFileError": "imagescaler.imaging.profiles_file",
    "default_profile": "imagescaler.imaging.builtin_profiles",
    "load_profiles": "imagescaler.imaging.profiles_file",
    "profile_catalogue": "imagescaler.imaging.profiles_file",
}
__all__ = [  # noqa: RUF022 - the same names as _EXPORTS, in its order
    "Limits", "ImageFacts", "inspect_image", "Geometry", "Result", "preprocess",
    "BUILTIN_PROFILES", "Profile", "ProfilesFileError", "default_profile", "load_profiles",
    "profile_catalogue",
]  # fmt: skip


assert set(__all__) == set(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'imagescaler' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
