"""The services run as an overlay's manifests run them, on loopback: each container's command
(its own flags, without the ones that link it to the cluster) and environment (ConfigMaps and
env), with the pod's memory limit to hold its peak to."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.support.paths import ROOT
from tests.support.pod_specs import ContainerSpec, container_specs, render

# Deployment name -> the name three_services gives the process.
SERVICES = {"image-service": "image service", "api": "API", "gateway": "gateway"}
# The flags that link a pod to the cluster; three_services links the processes on loopback.
LINKS = frozenset({"--listen", "--metrics-listen", "--image-service", "--api"})


def overlay_pods(overlay: str) -> dict[str, ContainerSpec]:
    """The overlay's three containers, by process name."""
    specs = container_specs(render(ROOT / "manifests" / overlay))
    return {SERVICES[s.deployment]: s for s in specs if s.deployment in SERVICES}


def command_of(spec: ContainerSpec) -> list[str]:
    """The container's command, on loopback: its subcommand and any flag other than links."""
    command, *flags = spec.args
    kept: list[str] = []
    for flag, value in zip(flags[::2], flags[1::2], strict=True):
        if flag not in LINKS:
            kept += [flag, value]
    return [sys.executable, "-m", "imagescaler", command, *kept]


def pod_environment(pods: dict[str, ContainerSpec], secret: Path) -> dict[str, str]:
    """The containers' environments (their prefixes differ), with the files and stores a pod
    has swapped for local ones: the JWT Secrets of `secret` (tests.support.system_checks.
    write_gateway_secret: the API checks the tokens the gateway passes on), in-memory rate
    limits set high enough that a storm reaches admission."""
    env = {"PATH": "/usr/bin:/bin"}
    for spec in pods.values():
        env.update(spec.env)
    env |= {
        "IMAGESCALER_GATEWAY_JWT_SIGNING_KEY_FILE": str(secret / "signing-key.pem"),
        "IMAGESCALER_GATEWAY_USERS_FILE": str(secret / "users.json"),
        "IMAGESCALER_API_JWT_PUBLIC_KEYS_FILE": str(secret / "public-keys.pem"),
        "IMAGESCALER_GATEWAY_RATE_LIMIT": "100000/minute",
        "IMAGESCALER_GATEWAY_RATE_LIMIT_STORAGE": "memory://",
    }
    return env
