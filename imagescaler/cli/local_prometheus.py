"""Prometheus beside the local system: a scrape config for its ports, and the server itself."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from imagescaler.cli.process_death import with_parent_death_signal

# Package data (a real folder in an installed wheel): Prometheus reads the rules by path.
CONFIG_DIR = Path(str(resources.files("imagescaler.cli.prometheus")))
RULES_DIR = CONFIG_DIR / "rules"


@dataclass(frozen=True)
class ScrapeTargets:
    image_service: str
    api: str
    gateway: str


def find_prometheus() -> str | None:
    return shutil.which("prometheus")


def write_config(targets: ScrapeTargets, folder: Path, scrape_interval: str = "5s") -> Path:
    template = (CONFIG_DIR / "local.yml.template").read_text()
    config = folder / "prometheus.yml"
    folder.mkdir(parents=True, exist_ok=True)
    config.write_text(
        template.format(
            scrape_interval=scrape_interval,
            rules_dir=RULES_DIR,
            image_service=targets.image_service,
            api=targets.api,
            gateway=targets.gateway,
        )
    )
    return config


def start_prometheus(
    command: str, config: Path, listen: str, storage: Path
) -> subprocess.Popen[bytes]:
    """Prometheus on `listen` with its data in `storage`; its own logs go to storage/log."""
    storage.mkdir(parents=True, exist_ok=True)
    with (storage / "log").open("wb") as log:  # the child keeps its own copy of the file
        arguments = [
            command,
            f"--config.file={config}",
            f"--storage.tsdb.path={storage}",
            f"--web.listen-address={listen}",
            "--storage.tsdb.retention.time=1d",
        ]
        return subprocess.Popen(
            with_parent_death_signal(arguments),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
