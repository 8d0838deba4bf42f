"""The container image, built here as the README says, and its root run as a pod runs it.

No image registry is reachable, so the base is made with mmdebstrap and `podman import`ed,
then passed through the Dockerfile's PYTHON_IMAGE argument. Where `podman run` works (a
laptop) it runs the image; here crun cannot set rlimits, so the image's root is mounted and
run read-only under `unshare -m` and `chroot --userspec`, as a pod with a read-only root."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

BASE = "localhost/imagescaler-base:bookworm"
IMAGE = "localhost/imagescaler:test"
BASE_PACKAGES = "python3,python3-venv,python-is-python3,ca-certificates"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
USER = "10001:10001"
# Run as root on the host, in a mount namespace of its own: the image's root read-only, a
# tmpfs on /tmp (the pods' emptyDir), /proc, the Secret where the manifests mount it.
POD_LIKE = r"""
root=$1; secret=$2; shift 2
mount --bind "$root" "$root"
mount -o remount,bind,ro "$root"
mount -t tmpfs -o size=128m,mode=1777 tmpfs "$root/tmp"
mount -t proc proc "$root/proc"
if [ -n "$secret" ]; then mount --bind -o ro "$secret" "$root/etc/imagescaler/jwt"; fi
exec chroot --userspec=10001:10001 "$root" "$@"
"""


def podman(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def ensure_base(work: Path) -> None:
    """A Debian bookworm base with Python, made once per machine (about 20 s)."""
    if podman("image", "exists", BASE).returncode == 0:
        return
    tarball = work / "base.tar"
    made = subprocess.run(
        ["mmdebstrap", "--variant=minbase", f"--include={BASE_PACKAGES}", "bookworm", str(tarball)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr[-3000:]
    imported = podman("import", str(tarball), BASE)
    assert imported.returncode == 0, imported.stderr
    tarball.unlink()


def pip_uses_custom_ca() -> bool:
    shown = subprocess.run(
        ["pip", "config", "list"], capture_output=True, text=True, timeout=30, check=False
    )
    return ".cert=" in shown.stdout


def build_image(context: Path) -> str:
    """`podman build` of the Dockerfile on the made base; returns the build's output."""
    volumes = ["-v", f"{CA_BUNDLE}:{CA_BUNDLE}:ro"] if pip_uses_custom_ca() else []
    built = podman(
        "build", "--isolation", "chroot", "--network", "host", "--format", "docker",
        *volumes, "--build-arg", f"PYTHON_IMAGE={BASE}", "-t", IMAGE, str(context),
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-4000:]
    podman("image", "prune", "--force")  # the previous build's layers, now untagged
    return built.stdout


@dataclass(frozen=True)
class ImageConfig:
    env: dict[str, str]
    entrypoint: list[str]
    cmd: list[str]
    user: str
    workdir: str
    healthcheck: list[str]
    size: int


def inspect_image() -> ImageConfig:
    shown = podman("image", "inspect", IMAGE)
    assert shown.returncode == 0, shown.stderr
    (image,) = json.loads(shown.stdout)
    config = image["Config"]
    health = (config.get("Healthcheck") or image.get("Healthcheck") or {}).get("Test", [])
    return ImageConfig(
        dict(item.split("=", 1) for item in config.get("Env", [])),
        config.get("Entrypoint") or [],
        config.get("Cmd") or [],
        config.get("User", ""),
        config.get("WorkingDir", "/"),
        health,
        int(image["Size"]),
    )


def mount_image() -> Path:
    mounted = podman("image", "mount", IMAGE)
    assert mounted.returncode == 0, mounted.stderr
    return Path(mounted.stdout.strip())


def unmount_image() -> None:
    podman("image", "unmount", IMAGE)


def podman_run_works() -> bool:
    tried = podman("run", "--rm", "--read-only", "--user", USER, IMAGE, "--help", timeout=120)
    return tried.returncode == 0


class PodRunner:
    """Commands that run the image's entrypoint as a pod would, with the given environment."""

    def __init__(self, root: Path, config: ImageConfig, secret: Path | None) -> None:
        self.root = root
        self.config = config
        self.secret = secret
        self.use_podman = podman_run_works()

    def command(self, args: Sequence[str], env: dict[str, str]) -> list[str]:
        environment = {**self.config.env, **env}
        if self.use_podman:
            volumes = ["-v", f"{self.secret}:/etc/imagescaler/jwt:ro"] if self.secret else []
            flags = [f"--env={k}={v}" for k, v in environment.items()]
            return [
                "podman", "run", "--rm", "--init", "--network", "host", "--read-only",
                "--tmpfs", "/tmp", "--user", USER, *volumes, *flags, IMAGE, *args,
            ]  # fmt: skip
        assigned = [f"{k}={v}" for k, v in environment.items()]
        return [
            "unshare", "--mount", "--propagation", "private", "sh", "-euc", POD_LIKE, "sh",
            str(self.root), str(self.secret or ""),
            "/usr/bin/env", "-i", "-C", self.config.workdir, *assigned,
            *self.config.entrypoint, *args,
        ]  # fmt: skip


def tools_missing() -> list[str]:
    missing = [tool for tool in ("podman", "mmdebstrap", "unshare") if shutil.which(tool) is None]
    if os.geteuid() != 0:
        missing.append("root")
    return missing
