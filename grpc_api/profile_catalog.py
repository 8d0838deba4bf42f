"""The profiles this API serves: the built-ins, `default` from its startup flags, and those
of --profiles-file."""

from __future__ import annotations

from grpc_api.settings import ApiSettings
from imagescaler.imaging.profiles import BUILTIN_PROFILES, Profile, default_profile
from imagescaler.imaging.profiles_file import load_profiles
from imagescaler.runtime.errors import UnknownProfile

DEFAULT = "default"


def default_from_settings(settings: ApiSettings) -> Profile:
    """What ImageScaler/ScaleImage does with these settings, as a profile."""
    return default_profile(
        target=(settings.target_size.width, settings.target_size.height),
        grayscale=settings.grayscale,
        resize_mode=settings.resize_mode,
        fill=(
            int(settings.pad_colour[1:3], 16),
            int(settings.pad_colour[3:5], 16),
            int(settings.pad_colour[5:7], 16),
        ),
        output_format=settings.output_format,
        quality=settings.quality,
        margin=settings.margin,
    )


class ProfileCatalog:
    def __init__(self, profiles: dict[str, Profile]) -> None:
        self._profiles = dict(sorted(profiles.items()))

    @classmethod
    def from_settings(cls, settings: ApiSettings) -> ProfileCatalog:
        profiles = {DEFAULT: default_from_settings(settings), **BUILTIN_PROFILES}
        if settings.profiles_file is not None:
            profiles.update(load_profiles(settings.profiles_file))
        return cls(profiles)

    def get(self, name: str) -> Profile:
        """The profile called `name` ("" is default), or UnknownProfile naming the known ones."""
        profile = self._profiles.get(name or DEFAULT)
        if profile is None:
            shown = name if len(name) <= 100 else f"{name[:100]}... ({len(name)} characters)"
            raise UnknownProfile(
                f"there is no profile {shown!r}; known profiles: {', '.join(self._profiles)}"
            )
        return profile

    def all(self) -> list[Profile]:
        return list(self._profiles.values())
