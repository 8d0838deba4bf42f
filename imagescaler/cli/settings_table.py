"""The README's configuration table, generated from the Settings classes so it cannot drift."""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic_settings import BaseSettings

from grpc_api.settings import ApiSettings
from image_service.settings import ImageServiceSettings
from imagescaler.cli.settings_flags import env_name, flag_name
from imagescaler.runtime.settings import available_cpus
from rest_gateway.settings import GatewaySettings

SERVICES: tuple[tuple[str, type[BaseSettings]], ...] = (
    ("imagescaler gateway", GatewaySettings),
    ("imagescaler api", ApiSettings),
    ("imagescaler image-service", ImageServiceSettings),
)


def _default(settings_class: type[BaseSettings], name: str) -> str:
    field = settings_class.model_fields[name]
    if field.default_factory is available_cpus:
        return "number of cores"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, list):
        return ",".join(value) or "empty"
    if value is None:
        return "none"
    return str(value).lower() if isinstance(value, bool) else str(value)


def settings_table() -> str:
    lines = []
    for command, settings_class in SERVICES:
        lines += [
            f"`{command}`:",
            "",
            "| flag | environment variable | default | meaning |",
            "|---|---|---|---|",
        ]
        for name, field in settings_class.model_fields.items():
            lines.append(
                f"| `{flag_name(name)}` | `{env_name(settings_class, name)}` "
                f"| `{_default(settings_class, name)}` | {field.description} |"
            )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


START = "<!-- settings-table:start"
END = "<!-- settings-table:end -->"


def replace_in(text: str) -> str:
    """`text` with the part between the markers replaced by the current table."""
    head, _, rest = text.partition(START)
    marker_line, _, rest = rest.partition("\n")
    _, _, tail = rest.partition(END)
    return f"{head}{START}{marker_line}\n{settings_table()}{END}{tail}"


if __name__ == "__main__":
    if sys.argv[1:2] == ["--write"]:
        path = Path(sys.argv[2])
        path.write_text(replace_in(path.read_text()))
    else:
        print(settings_table(), end="")
