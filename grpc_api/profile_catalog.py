"""The profiles this API serves: the built-ins, `default` from its startup flags, and those
of --profiles-file."""

from __future__ import annotations

from grpc_api.settings import ApiSettings
from imagescaler.imaging.builtin_profiles import default_profile
from imagescaler.imaging.profiles import Profile
from imagescaler.imaging.profiles_file import DEFAULT, profile_catalogue
from imagescaler.runtime.errors import UnknownProfile


def default_from_settings(settings: ApiSettings) -> Profile:
    """What ImageScaler/ScaleImage does with these settings, as a profile."""
    return default_profile(
        target=(settings.target_size.width, settings.target_size.height),
        grayscale=settings.grayscale,
        resize_mode=settings.resize_mode,
        fill=settings.pad_rgb,
        output_format=settings.output_format,
        quality=settings.quality,
        margin=settings.margin,
    )


class ProfileCatalog:
    def __init__(self, profiles: dict[str, Profile]) -> None:
        self._profiles = profiles

    @classmethod
    def from_settings(cls, settings: ApiSettings) -> ProfileCatalog:
        return cls(profile_catalogue(default_from_settings(settings), settings.profiles_file))

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
