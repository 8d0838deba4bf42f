"""The command line of `imagescaler profiles` (argparse only: the work is imported when it
runs)."""

from __future__ import annotations

import argparse
from pathlib import Path


def profiles_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the profiles, their references and descriptions")
    _profiles_file(listing)

    importing = actions.add_parser(
        "import",
        help="a profile from a model's preprocessor_config.json (Hugging Face), as TOML",
        description="Write the profile that reproduces a Hugging Face image processor. A field "
        "it cannot honour is refused, by name.",
    )
    importing.add_argument("config", type=Path, help="the model's preprocessor_config.json")
    importing.add_argument("--name", required=True, help="the profile's name")
    importing.add_argument("--version", type=int, default=1, help="the profile's version")
    _processor(importing)
    importing.add_argument(
        "-o", "--output", type=Path,
        help="a profiles file to add it to (made if missing); without it, printed",
    )  # fmt: skip

    exporting = actions.add_parser(
        "export", help="a profile as a Hugging Face preprocessor_config.json, where one maps"
    )
    exporting.add_argument("name", help="the profile")
    exporting.add_argument("-o", "--output", type=Path, help="the file to write; else printed")
    _profiles_file(exporting)

    check = actions.add_parser(
        "check",
        help="the largest difference, per image, from the model's processor; exit 1 over the bound",
        description="Preprocess each image with the profile and with the Hugging Face processor "
        "(its PIL backend; needs the `parity` extra) and print the largest difference in levels "
        "(0-255, before normalising). The certificate to attach to a model release.",
    )
    check.add_argument("name", help="the profile")
    check.add_argument("--images", type=Path, required=True, help="a folder of images")
    check.add_argument(
        "--against", type=Path,
        help="the model's preprocessor_config.json (default: the profile's own export)",
    )  # fmt: skip
    check.add_argument("--bound", type=float, default=1.0, help="the most levels allowed apart")
    _processor(check)
    _profiles_file(check)


def _profiles_file(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profiles-file", type=Path, help="a TOML file of profiles, beside the built-in ones"
    )


def _processor(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--processor",
        help="the processor's type (ViT, CLIP, Detr, ...) when the file does not name it",
    )
