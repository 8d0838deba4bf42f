"""Profiles from a TOML file (one [profiles.NAME] table each; a mistake names the profile and
the field), and the one catalogue every run serves: the API, `batch` and the golden tests."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import ValidationError

from imagescaler.imaging.builtin_profiles import BUILTIN_PROFILES
from imagescaler.imaging.profiles import Profile

DEFAULT = "default"


class ProfilesFileError(ValueError):
    """A profiles file that cannot be used; the message names the profile and the field."""


def profile_catalogue(
    default: Profile | None = None, profiles_file: Path | None = None
) -> dict[str, Profile]:
    """The profiles a run serves, by name: `default` (the stock one unless given: the API's
    comes from its start-up flags), the built-ins, and those of `profiles_file`
    (ProfilesFileError when it cannot be used)."""
    profiles = {**BUILTIN_PROFILES, DEFAULT: default or BUILTIN_PROFILES[DEFAULT]}
    if profiles_file is not None:
        profiles |= load_profiles(profiles_file)
    return dict(sorted(profiles.items()))


def load_profiles(path: Path) -> dict[str, Profile]:
    """Profiles from a TOML file: one [profiles.NAME] table each, named by its key."""
    try:
        document = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ProfilesFileError(f"profiles file {path}: {error}") from None
    tables = document.get("profiles")
    if not isinstance(tables, dict) or not tables:
        raise ProfilesFileError(f"profiles file {path}: no [profiles.NAME] tables")
    profiles = {}
    for name, table in tables.items():
        if name in BUILTIN_PROFILES:
            raise ProfilesFileError(f"profiles file {path}: {name!r} is a built-in profile's name")
        try:
            profiles[name] = Profile.model_validate({**table, "name": name})
        except ValidationError as error:
            raise ProfilesFileError(_describe(path, name, error)) from None
    return profiles


def _describe(path: Path, name: str, error: ValidationError) -> str:
    problems = [
        f"{'.'.join(str(part) for part in problem['loc']) or 'profile'}: {problem['msg']}"
        for problem in error.errors()
    ]
    return f"profiles file {path}: profile {name!r}: " + "; ".join(problems)
