"""imagescaler: image pre-processing for machine-learning pipelines.

The library that the service runs, for training code (no gRPC needed):

    from imagescaler import BUILTIN_PROFILES, preprocess
    result = preprocess(jpeg_bytes, BUILTIN_PROFILES["imagenet-224"])
    result.array, result.geometry, result.profile

Layers, each importing only those below it (pyproject.toml's import-linter contracts):
the command line (imagescaler.cli) -> the services (grpc_api, image_service, rest_gateway)
-> the pure imaging library (imagescaler.imaging) -> the runtime (imagescaler.runtime)."""

from imagescaler.imaging.formats import Limits
from imagescaler.imaging.inspection import ImageFacts, inspect_image
from imagescaler.imaging.mapping import Geometry
from imagescaler.imaging.preprocess import Result, preprocess
from imagescaler.imaging.profiles import (
    BUILTIN_PROFILES,
    Profile,
    ProfilesFileError,
    default_profile,
    load_profiles,
)

__all__ = [
    "BUILTIN_PROFILES",
    "Geometry",
    "ImageFacts",
    "Limits",
    "Profile",
    "ProfilesFileError",
    "Result",
    "default_profile",
    "inspect_image",
    "load_profiles",
    "preprocess",
]
