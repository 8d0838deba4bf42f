"""Each container of a rendered overlay as the kubelet starts it: its arguments and its
environment (ConfigMaps through envFrom, values, and the CPU limit through resourceFieldRef)."""

from __future__ import annotations

import math
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class ContainerSpec:
    deployment: str  # the Deployment's (or Job's) name
    image: str
    args: list[str]
    env: dict[str, str]
    mounts: dict[str, str]  # volume name -> mount path
    memory_limit: int | None  # bytes, from resources.limits.memory


def render(path: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    assert kubectl is not None, "kubectl is needed to render the manifests"
    result = subprocess.run(
        [kubectl, "kustomize", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def container_specs(docs: list[dict[str, Any]]) -> list[ContainerSpec]:
    config_maps = {
        d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"
    }
    specs = []
    for deployment in (d for d in docs if d["kind"] in ("Deployment", "Job")):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            env: dict[str, str] = {}
            for source in container.get("envFrom", []):
                if "configMapRef" in source:  # a Secret's values are made by hand, not here
                    env.update(config_maps[source["configMapRef"]["name"]])
            for entry in container.get("env", []):
                env[entry["name"]] = _value(entry, container)
            mounts = {m["name"]: m["mountPath"] for m in container.get("volumeMounts", [])}
            specs.append(
                ContainerSpec(
                    deployment["metadata"]["name"],
                    container["image"],
                    [*container.get("command", []), *container.get("args", [])],
                    env,
                    mounts,
                    _bytes(container.get("resources", {}).get("limits", {}).get("memory")),
                )
            )
    return specs


def _value(entry: dict[str, Any], container: dict[str, Any]) -> str:
    if "value" in entry:
        return str(entry["value"])
    field = entry["valueFrom"].get("resourceFieldRef")
    assert field is not None, f"{entry['name']}: only value and resourceFieldRef are resolved"
    assert field["resource"] == "limits.cpu", f"{entry['name']}: {field['resource']}"
    cpus = _cpus(str(container["resources"]["limits"]["cpu"]))
    return str(math.ceil(cpus / _cpus(str(field.get("divisor", "1")))))  # as the kubelet does


_BINARY_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def _bytes(quantity: object) -> int | None:
    """A Kubernetes memory quantity in bytes (binary suffixes or plain bytes)."""
    if quantity is None:
        return None
    text = str(quantity)
    unit = _BINARY_UNITS.get(text[-2:])
    return int(float(text[:-2]) * unit) if unit else int(text)


def _cpus(quantity: str) -> float:
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)
