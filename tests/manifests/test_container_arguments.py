"""The manifests' arguments are the CLI's arguments: a renamed flag or setting fails here,
not in a crash-looping pod."""

from __future__ import annotations

import json
import os
import re

import pytest

from imagescaler.cli.main import COMMANDS, build_parser
from imagescaler.cli.settings_flags import env_name, settings_from_args
from tests.support.paths import ROOT
from tests.support.pod_specs import ContainerSpec, container_specs, render

OVERLAYS = ["base", "overlays/dev", "overlays/prod", "jobs/batch"]
OURS = [
    pytest.param(spec, id=f"{overlay}:{spec.deployment}")
    for overlay in OVERLAYS
    for spec in container_specs(render(ROOT / "manifests" / overlay))
    if "redis" not in spec.image
]


def parse_as_the_container_would(
    argv: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parse `argv` as `imagescaler` would, and build its settings from flags and `env`."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"imagescaler refuses the arguments {argv}")
    command = next(c for c in COMMANDS if c.name == args.command)
    if command.settings is None:
        return
    prefix = str(command.settings.model_config.get("env_prefix", "")).upper()
    known = {env_name(command.settings, field) for field in command.settings.model_fields}
    unknown = sorted(k for k in env if k.startswith(prefix) and k not in known)
    if unknown:
        pytest.fail(f"{argv[0]} has no settings named {unknown}")
    for name in [k for k in os.environ if k.startswith("IMAGESCALER_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        settings_from_args(command.settings, args)
    except SystemExit as error:
        pytest.fail(f"{argv[0]}: {error}")


@pytest.mark.parametrize("spec", OURS)
def test_container_arguments_and_environment_parse(
    spec: ContainerSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    parse_as_the_container_would(spec.args, spec.env, monkeypatch)


def test_the_images_default_command_and_healthcheck_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for instruction in ("CMD", "HEALTHCHECK.*\\n\\s*CMD"):
        match = re.search(rf"^{instruction} (\[.*\])$", dockerfile, re.MULTILINE)
        assert match is not None, instruction
        argv = json.loads(match[1])
        parse_as_the_container_would(
            argv[1:] if argv[0] == "imagescaler" else argv, {}, monkeypatch
        )


def test_a_renamed_setting_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(pytest.fail.Exception, match="no settings named"):
        parse_as_the_container_would(["api"], {"IMAGESCALER_API_TARGET_SIZES": "1x1"}, monkeypatch)
    with pytest.raises(pytest.fail.Exception, match="refuses the arguments"):
        parse_as_the_container_would(["api", "--image-services", "x:1"], {}, monkeypatch)
