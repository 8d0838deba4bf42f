"""Command-line flags derived from a Settings class, so flags and env vars share one name."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings

SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def flag_name(field: str) -> str:
    return "--" + field.replace("_", "-")


def env_name(settings_class: type[BaseSettings], field: str) -> str:
    prefix = str(settings_class.model_config.get("env_prefix", ""))
    return (prefix + field).upper()


def add_settings_flags(
    parser: argparse.ArgumentParser,
    settings_class: type[BaseSettings],
    only: frozenset[str] | None = None,
) -> None:
    """One flag per field (or per field in `only`); a flag left out falls back to the env var,
    then the default."""
    for name, field in settings_class.model_fields.items():
        if only is not None and name not in only:
            continue
        default = field.get_default(call_default_factory=True)
        help_text = f"{field.description} (env {env_name(settings_class, name)}, default {default})"
        parser.add_argument(
            flag_name(name), dest=name, default=None, metavar="VALUE", help=help_text
        )


def settings_from_args(settings_class: type[SettingsT], args: argparse.Namespace) -> SettingsT:
    """Build settings from flags and the environment, or exit naming the bad setting."""
    given: dict[str, Any] = {
        name: getattr(args, name)
        for name in settings_class.model_fields
        if getattr(args, name, None) is not None
    }
    try:
        return settings_class(**given)
    except ValidationError as error:
        sys.exit(describe_invalid(settings_class, error))


def describe_invalid(settings_class: type[BaseSettings], error: ValidationError) -> str:
    lines = ["invalid configuration, not starting:"]
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else "?"
        lines.append(
            f"  {flag_name(field)} / {env_name(settings_class, field)}: {problem['msg']}"
            f" (got {problem.get('input')!r})"
        )
    return "\n".join(lines)
