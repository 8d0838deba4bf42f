"""`imagescaler profiles ACTION`: list, import, export, check."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import tomli_w

from imagescaler.imaging.hf_export import hf_from_profile
from imagescaler.imaging.hf_processors import UnsupportedConfig, profile_from_hf
from imagescaler.imaging.profiles import Profile
from imagescaler.imaging.profiles_file import ProfilesFileError, load_profiles, profile_catalogue

USAGE_ERROR = 2


class CommandError(Exception):
    """A mistake in what was asked; the message says what to do."""


def run(args: argparse.Namespace) -> int:
    actions = {"list": list_profiles, "import": import_config, "export": export_profile}
    try:
        if args.action == "check":
            from imagescaler.cli.profiles.check import check_profile

            return check_profile(args, find_profile(args.name, args.profiles_file))
        return actions[args.action](args)
    except (CommandError, ProfilesFileError, UnsupportedConfig) as error:
        print(f"imagescaler profiles {args.action}: {error}", file=sys.stderr)
        return USAGE_ERROR


def list_profiles(args: argparse.Namespace) -> int:
    for name, profile in profile_catalogue(profiles_file=args.profiles_file).items():
        print(f"{name:16} {profile.reference:32} {profile.description}")
    return 0


def import_config(args: argparse.Namespace) -> int:
    config = read_json(args.config)
    profile = profile_from_hf(config, args.name, args.version, args.processor)
    dumped = profile.model_dump(mode="json", exclude_none=True)  # TOML has no null
    table = {key: value for key, value in dumped.items() if key != "name"}
    text = tomli_w.dumps({"profiles": {profile.name: table}})
    if args.output is None:
        print(text, end="")
        return 0
    existing = ""
    if args.output.exists():
        if profile.name in load_profiles(args.output):
            raise CommandError(f"{args.output} already has a profile {profile.name!r}")
        existing = args.output.read_text().rstrip("\n") + "\n\n"
    write_whole(args.output, existing + text)
    load_profiles(args.output)  # what was written reads back
    print(f"{profile.reference} written to {args.output}", file=sys.stderr)
    return 0


def export_profile(args: argparse.Namespace) -> int:
    profile = find_profile(args.name, args.profiles_file)
    text = json.dumps(hf_from_profile(profile), indent=2) + "\n"
    if args.output is None:
        print(text, end="")
    else:
        write_whole(args.output, text)
    return 0


def find_profile(name: str, profiles_file: Path | None) -> Profile:
    profiles = profile_catalogue(profiles_file=profiles_file)
    if name not in profiles:
        raise CommandError(f"no profile {name!r}; there are: {', '.join(profiles)}")
    return profiles[name]


def read_json(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise CommandError(f"{path}: {error}") from None
    if not isinstance(config, dict):
        raise CommandError(f"{path}: not a JSON object")
    return config


def write_whole(path: Path, text: str) -> None:
    """Written beside, then renamed over: an interrupted write leaves the old file whole."""
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("w") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    partial.replace(path)
