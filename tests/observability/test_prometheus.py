"""The Prometheus set-up: promtool checks and rule tests, the dashboard, and a real scrape."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client import CollectorRegistry

from imagescaler.cli.local_prometheus import (
    RULES_DIR,
    ScrapeTargets,
    start_prometheus,
    write_config,
)
from imagescaler.grpc_runtime.metrics import GrpcMetrics
from imagescaler.runtime.image_metrics import ImageMetrics
from rest_gateway.identity import token_issuer
from rest_gateway.observability import HttpMetrics
from rest_gateway.settings import GatewaySettings
from tests.support.images import shared_image
from tests.support.local_system import local_system
from tests.support.paths import ROOT
from tests.support.waiting import wait_until

RULES = RULES_DIR
PROMETHEUS_DIR = ROOT / "manifests" / "prometheus"  # Kubernetes scrape config, dashboard


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        message = f"{name} is missing: apt-get install prometheus (make test does it as root)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("promtool"), *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_promtool_accepts_the_rules() -> None:
    result = promtool("check", "rules", str(RULES / "recording.yml"), str(RULES / "alerts.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rule_unit_tests_pass() -> None:
    result = promtool("test", "rules", str(RULES / "tests.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_kubernetes_and_local_configs(tmp_path: Path) -> None:
    # Debian's Prometheus is built without Kubernetes discovery, so promtool checks this config
    # with the discovery block swapped for a static one; the relabelling is checked as written.
    config = yaml.safe_load((PROMETHEUS_DIR / "kubernetes.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job.pop("kubernetes_sd_configs") == [{"role": "pod"}]
    job["static_configs"] = [{"targets": ["pod:9101"]}]
    config["rule_files"] = [str(RULES / Path(f).name) for f in config["rule_files"]]
    (tmp_path / "kubernetes.yml").write_text(yaml.safe_dump(config))
    kubernetes = promtool("check", "config", str(tmp_path / "kubernetes.yml"))
    assert kubernetes.returncode == 0, kubernetes.stdout + kubernetes.stderr
    local = write_config(
        ScrapeTargets("127.0.0.1:9101", "127.0.0.1:9102", "127.0.0.1:9103"), tmp_path
    )
    checked = promtool("check", "config", str(local))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def exported_metric_names() -> set[str]:
    registry = CollectorRegistry()
    GrpcMetrics(registry, "server")
    GrpcMetrics(registry, "client")
    ImageMetrics(registry, "x")
    HttpMetrics(registry)
    names = {"up"}
    for family in registry.collect():
        names |= {sample.name for sample in family.samples} | {family.name}
        names |= {f"{family.name}_bucket", f"{family.name}_total"}
    return names


def recorded_names() -> set[str]:
    groups = yaml.safe_load((RULES / "recording.yml").read_text())["groups"]
    return {rule["record"] for group in groups for rule in group["rules"]}


PROMQL_WORDS = {
    "sum",
    "by",
    "rate",
    "histogram_quantile",
    "le",
    "job",
    "absent",
    "or",
    "and",
    "without",
    "on",
    "ignoring",
}


def metric_names_in(expression: str) -> set[str]:
    without_labels = re.sub(r"\{[^}]*\}", "", expression)
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_labels)
    tokens = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", without_ranges))
    grouped = set(re.findall(r"by \(([^)]*)\)", without_ranges))
    labels = {label.strip() for group in grouped for label in group.split(",")}
    return tokens - PROMQL_WORDS - labels


def test_dashboard_references_only_defined_metrics() -> None:
    dashboard = json.loads((PROMETHEUS_DIR / "grafana-dashboard.json").read_text())
    known = exported_metric_names() | recorded_names()
    expressions = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert expressions
    for expression in expressions:
        unknown = metric_names_in(expression) - known
        assert not unknown, f"{expression!r} uses undefined {unknown}"


def test_rules_reference_only_exported_metrics() -> None:
    expressions = [
        rule["expr"]
        for name in ("recording.yml", "alerts.yml")
        for group in yaml.safe_load((RULES / name).read_text())["groups"]
        for rule in group["rules"]
    ]
    known = exported_metric_names() | recorded_names()
    for expression in expressions:
        unknown = metric_names_in(expression) - known
        assert not unknown, f"{expression!r} uses undefined {unknown}"


def query(base: str, expression: str) -> list[dict[str, object]]:
    reply = httpx.get(f"{base}/api/v1/query", params={"query": expression}, timeout=5).json()
    assert reply["status"] == "success", reply
    return list(reply["data"]["result"])


@pytest.mark.slow
@pytest.mark.system
def test_a_real_prometheus_scrapes_the_local_system(tmp_path: Path) -> None:
    command = tool("prometheus")
    state = tmp_path / "dev-state.json"
    with local_system(state) as system:
        targets = ScrapeTargets(
            f"127.0.0.1:{system.metrics_ports['image']}",
            f"127.0.0.1:{system.metrics_ports['api']}",
            f"127.0.0.1:{system.metrics_ports['gateway']}",
        )
        config = write_config(targets, tmp_path / "prometheus", scrape_interval="1s")
        storage = tmp_path / "prometheus" / "data"
        prometheus = start_prometheus(command, config, "127.0.0.1:0", storage)
        try:
            base = f"http://127.0.0.1:{prometheus_port(storage / 'log')}"
            wait_until_ready(base)
            token = token_issuer(GatewaySettings(dev_state_file=state)).issue("scrape").access_token
            results = drive_traffic_until_rules_answer(base, system.gateway_port, token)
        finally:
            prometheus.terminate()
            prometheus.wait(20)
    for rule, jobs in results.items():
        assert jobs == RULE_JOBS[rule], (rule, jobs)


def prometheus_port(log: Path) -> int:
    """Where Prometheus bound port 0: its "Listening on" line says."""
    found: list[int] = []

    def listening() -> bool:
        match = re.search(r'msg="Listening on" address=\S+:(\d+)', log.read_text())
        found.extend([int(match[1])] if match else [])
        return bool(found)

    wait_until(listening, 30, "Prometheus listening")
    return found[0]


def wait_until_ready(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/-/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("Prometheus did not become ready")


RULE_JOBS = {
    "job:grpc_server_requests:rate1m": {"api", "image-service"},
    "job:grpc_server_latency_seconds:p50_1m": {"api", "image-service"},
    "job:grpc_server_latency_seconds:p99_1m": {"api", "image-service"},
    "job:http_requests:rate1m": {"gateway"},
    "job:http_latency_seconds:p50_1m": {"gateway"},
    "job:http_latency_seconds:p99_1m": {"gateway"},
}


def drive_traffic_until_rules_answer(
    base: str, gateway_port: int, token: str
) -> dict[str, set[str]]:
    """Send images until every recording rule gives a positive value for each of its jobs."""
    data = shared_image("hotdog_1400x1316.jpg")
    headers = {"Authorization": f"Bearer {token}"}
    found: dict[str, set[str]] = {}
    deadline = time.monotonic() + 60
    with httpx.Client(
        base_url=f"http://127.0.0.1:{gateway_port}", headers=headers, timeout=30
    ) as client:
        while time.monotonic() < deadline:
            reply = client.post("/v1/scale", files={"file": ("p.jpg", data, "image/jpeg")})
            assert reply.status_code == 200
            found = {
                rule: {
                    str(r["metric"]["job"])
                    for r in query(base, rule)  # type: ignore[index]
                    if float(r["value"][1]) > 0
                }  # type: ignore[index]
                for rule in RULE_JOBS
            }
            if all(found[rule] == jobs for rule, jobs in RULE_JOBS.items()):
                return found
            time.sleep(0.5)
    raise AssertionError(f"the recording rules never answered for every service: {found}")
