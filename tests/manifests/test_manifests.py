"""The Kubernetes manifests: they render, they validate, and they say what production needs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ByteSize, TypeAdapter

from imagescaler.runtime.defaults import MAX_IMAGE_BYTES
from imagescaler.runtime.memory_budget import PROCESS_BASELINE_BYTES
from tests.support.paths import ROOT

MANIFESTS = ROOT / "manifests"
OVERLAYS = ["base", "overlays/dev", "overlays/prod"]
GRPC_PORTS = {"image-service": 50052, "api": 50051}
KUBERNETES_VERSION = "1.33.0"
BYTES = TypeAdapter(ByteSize)


def render(path: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl is needed to render the manifests")
    result = subprocess.run(
        [kubectl, "kustomize", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, render(MANIFESTS / request.param)


def objects(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def containers(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    return [
        (name, deployment["spec"]["template"]["spec"], container)
        for name, deployment in objects(docs, "Deployment").items()
        for container in deployment["spec"]["template"]["spec"]["containers"]
    ]


def test_every_document_validates_strictly(
    rendered: tuple[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    name, docs = rendered
    validate(docs, tmp_path, name)


def validate(docs: list[dict[str, Any]], tmp_path: Path, name: str) -> None:
    """Every document against the Kubernetes schemas, strictly (unknown fields fail)."""
    core = [d for d in docs if d["apiVersion"] != "monitoring.coreos.com/v1"]  # a CRD
    files = []
    for number, doc in enumerate(core):
        files.append(tmp_path / f"{number}.yaml")
        files[-1].write_text(yaml.safe_dump(doc))
    validator = Path(sys.executable).parent / "kubernetes-validate"
    result = subprocess.run(
        [str(validator), "--strict", "--quiet", "-k", KUBERNETES_VERSION, *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"{name}: {result.stdout}{result.stderr}"


def test_image_service_and_api_run_at_least_two_replicas(rendered: tuple[str, Any]) -> None:
    _, docs = rendered
    deployments = objects(docs, "Deployment")
    for name in ("image-service", "api"):
        assert deployments[name]["spec"]["replicas"] >= 2


def test_headless_services_for_client_side_balancing(rendered: tuple[str, Any]) -> None:
    _, docs = rendered
    services = objects(docs, "Service")
    for name in ("image-service-headless", "api-headless"):
        assert services[name]["spec"]["clusterIP"] == "None"
    args = {name: c["args"] for name, _, c in containers(docs)}
    assert "dns:///image-service-headless:50052" in args["api"]
    assert "dns:///api-headless:50051" in args["gateway"]


def test_every_container_has_probes_security_and_resources(rendered: tuple[str, Any]) -> None:
    _, docs = rendered
    for name, pod, container in containers(docs):
        for probe in ("readinessProbe", "livenessProbe"):
            assert probe in container, (name, probe)
        if name in GRPC_PORTS:
            assert container["readinessProbe"]["grpc"]["port"] == GRPC_PORTS[name]
            assert container["livenessProbe"]["grpc"]["port"] == GRPC_PORTS[name]
        if name == "gateway":
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, name
        assert security["allowPrivilegeEscalation"] is False, name
        assert security["capabilities"]["drop"] == ["ALL"], name
        assert security.get("runAsNonRoot", pod["securityContext"].get("runAsNonRoot")) is True
        resources = container["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"]) and {"cpu", "memory"} <= set(
            resources["limits"]
        )
        assert all(port.get("name") for port in container["ports"]), name
        assert "preStop" in container["lifecycle"], name
        assert pod["terminationGracePeriodSeconds"] >= 10, name
        assert pod["automountServiceAccountToken"] is False, name


def test_the_image_services_memory_budget_fits_its_memory_limit(rendered: tuple[str, Any]) -> None:
    """Decode memory plus the process's own baseline stays under the limit: no OOM kill."""
    _, docs = rendered
    (container,) = [c for name, _, c in containers(docs) if name == "image-service"]
    env = {entry["name"]: entry.get("value") for entry in container["env"]}
    budget = BYTES.validate_python(env["IMAGESCALER_IMAGE_MEMORY_BUDGET"])
    limit = BYTES.validate_python(container["resources"]["limits"]["memory"] + "B")  # 512Mi
    assert 0 < budget <= limit - PROCESS_BASELINE_BYTES


# A rule of thumb checked on every overlay here; tests/hardening/test_upload_storm.py runs the
# services with each overlay's settings and holds the measured peaks to the limits. Measured
# there: each byte admitted is held about twice over in the gateway and 2.5-3.5 times in the
# API at the peak, beside an idle process of 100-140 MiB.
BYTES_HELD_PER_BYTE_ADMITTED = 4
IDLE_BYTES = 128 * 1024 * 1024


@pytest.mark.parametrize(
    ("service", "setting"),
    [
        ("gateway", "IMAGESCALER_GATEWAY_MAX_UPLOAD_BYTES_IN_FLIGHT"),
        ("api", "IMAGESCALER_API_MAX_REQUEST_BYTES_IN_FLIGHT"),
    ],
)
def test_the_bytes_admitted_in_flight_fit_the_memory_limit(
    rendered: tuple[str, Any], service: str, setting: str
) -> None:
    _, docs = rendered
    (container,) = [c for name, _, c in containers(docs) if name == service]
    config = objects(docs, "ConfigMap")[f"{service}-config"]["data"]
    admitted = BYTES.validate_python(config[setting])
    limit = BYTES.validate_python(container["resources"]["limits"]["memory"] + "B")
    assert IDLE_BYTES + BYTES_HELD_PER_BYTE_ADMITTED * admitted <= limit
    assert admitted >= MAX_IMAGE_BYTES + 65536  # one upload of the largest image still fits


def test_unfinished_messages_on_every_call_slot_fit_the_apis_memory_limit(
    rendered: tuple[str, Any],
) -> None:
    """A call holds its message from the first byte, before admission knows its size: the
    call slots times the largest message must fit beside the process
    (tests/hardening/test_unfinished_messages.py measures it)."""
    _, docs = rendered
    (container,) = [c for name, _, c in containers(docs) if name == "api"]
    config = objects(docs, "ConfigMap")["api-config"]["data"]
    calls = int(config["IMAGESCALER_API_MAX_CALLS_IN_FLIGHT"])
    largest = int(config.get("IMAGESCALER_API_MAX_IMAGE_BYTES", MAX_IMAGE_BYTES)) + 65536
    limit = BYTES.validate_python(container["resources"]["limits"]["memory"] + "B")
    assert IDLE_BYTES + calls * largest <= limit


def test_spread_across_nodes_and_scraped_by_prometheus(rendered: tuple[str, Any]) -> None:
    _, docs = rendered
    for name, deployment in objects(docs, "Deployment").items():
        pod = deployment["spec"]["template"]
        if name == "redis":
            continue
        keys = {c["topologyKey"] for c in pod["spec"]["topologySpreadConstraints"]}
        assert "kubernetes.io/hostname" in keys, name
        annotations = pod["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        declared = {p["containerPort"] for p in pod["spec"]["containers"][0]["ports"]}
        assert int(annotations["prometheus.io/port"]) in declared, name


def test_autoscalers_target_cpu_with_bounds_and_behaviour(rendered: tuple[str, Any]) -> None:
    _, docs = rendered
    autoscalers = objects(docs, "HorizontalPodAutoscaler")
    assert set(autoscalers) == {"image-service", "api"}
    for name, hpa in autoscalers.items():
        spec = hpa["spec"]
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert spec["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        assert spec["minReplicas"] >= 2 and spec["maxReplicas"] > spec["minReplicas"]
        cpu = next(m for m in spec["metrics"] if m["type"] == "Resource")
        assert cpu["resource"]["name"] == "cpu"
        assert 50 <= cpu["resource"]["target"]["averageUtilization"] <= 85
        assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] >= 120


def test_disruption_budgets_and_network_policies(rendered: tuple[str, Any]) -> None:
    _, docs = rendered
    deployments = set(objects(docs, "Deployment"))
    assert set(objects(docs, "PodDisruptionBudget")) == deployments
    policies = objects(docs, "NetworkPolicy")
    assert set(policies) == deployments

    def callers(name: str) -> set[str]:
        """The pods of this namespace a policy admits, by name or by label."""
        return {
            "=".join(next(iter(source["podSelector"]["matchLabels"].items())))
            for rule in policies[name]["spec"]["ingress"]
            for source in rule.get("from", [])
            if "namespaceSelector" not in source
        }

    assert callers("image-service") == {"app.kubernetes.io/name=api"}
    assert callers("api") == {"app.kubernetes.io/name=gateway", "imagescaler.io/bulk-client=true"}


def test_no_latest_tags_and_no_secret_values(rendered: tuple[str, Any]) -> None:
    name, docs = rendered
    for _, _, container in containers(docs):
        image = container["image"]
        assert re.search(r":[\w.-]+$", image) and not image.endswith(":latest"), image
    assert not objects(docs, "Secret"), f"{name} commits a Secret"
    text = yaml.safe_dump_all(docs)
    for secret_looking in ("BEGIN PRIVATE KEY", "BEGIN RSA PRIVATE KEY", "password:", "scrypt$"):
        assert secret_looking not in text
    deployment = objects(docs, "Deployment")["gateway"]["spec"]["template"]["spec"]
    assert {
        "name": "jwt",
        "secret": {"secretName": "gateway-jwt", "defaultMode": 0o440},
    } in deployment["volumes"]


def test_api_settings_come_from_a_configmap(rendered: tuple[str, Any]) -> None:
    _, docs = rendered
    config = objects(docs, "ConfigMap")["api-config"]["data"]
    assert config["IMAGESCALER_API_TARGET_SIZE"] == "1024x768"
    assert {"IMAGESCALER_API_GRAYSCALE", "IMAGESCALER_API_MARGIN"} <= set(config)
    from grpc_api.settings import ApiSettings

    ApiSettings(
        **{key.removeprefix("IMAGESCALER_API_").lower(): value for key, value in config.items()}
    )


def test_dev_runs_redis_and_one_gateway_prod_names_an_external_redis() -> None:
    dev, prod = render(MANIFESTS / "overlays/dev"), render(MANIFESTS / "overlays/prod")
    assert objects(dev, "Deployment")["gateway"]["spec"]["replicas"] == 1
    assert "redis" in objects(dev, "Deployment") and "redis" not in objects(prod, "Deployment")
    dev_storage = objects(dev, "ConfigMap")["gateway-config"]["data"][
        "IMAGESCALER_GATEWAY_RATE_LIMIT_STORAGE"
    ]
    prod_storage = objects(prod, "ConfigMap")["gateway-config"]["data"][
        "IMAGESCALER_GATEWAY_RATE_LIMIT_STORAGE"
    ]
    assert dev_storage == "redis://redis:6379" and prod_storage.startswith("redis://")
    assert objects(dev, "Service")["gateway"]["spec"]["type"] == "NodePort"
    assert (
        objects(prod, "ServiceMonitor")["imagescaler"]["spec"]["endpoints"][0]["port"] == "metrics"
    )
    for service in ("image-service", "api", "gateway"):
        ports = {p["name"] for p in objects(prod, "Service")[service]["spec"]["ports"]}
        assert "metrics" in ports, service


def test_prometheus_adapter_component_adds_an_in_flight_metric(tmp_path: Path) -> None:
    copy = tmp_path / "manifests"
    shutil.copytree(MANIFESTS, copy)
    check = copy / "overlays" / "adapter-check"
    check.mkdir()
    (check / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources: [../../base]\ncomponents: [../../components/prometheus-adapter]\n"
    )
    hpa = objects(render(check), "HorizontalPodAutoscaler")["image-service"]
    pods = [m for m in hpa["spec"]["metrics"] if m["type"] == "Pods"]
    assert pods[0]["pods"]["metric"]["name"] == "grpc_server_in_flight"


def test_dockerfile_passes_hadolint() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run(
        [str(hadolint), str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = (ROOT / "Dockerfile").read_text()
    assert "USER 10001" in text and "PYTHONUNBUFFERED=1" in text and "HEALTHCHECK" in text
    assert text.count("FROM ") == 2  # build stage and a slim final stage


def test_the_api_asks_for_tokens_from_a_secret(rendered: tuple[str, Any]) -> None:
    _, docs = rendered
    spec, container = next((s, c) for name, s, c in containers(docs) if name == "api")
    config = objects(docs, "ConfigMap")["api-config"]["data"]
    keys = Path(config["IMAGESCALER_API_JWT_PUBLIC_KEYS_FILE"])
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes[mounts[str(keys.parent)]]["secret"]["secretName"] == "api-jwt"


def test_prod_reaches_the_grpc_api_from_outside_over_tls_only() -> None:
    docs = render(MANIFESTS / "overlays/prod")
    ingress = objects(docs, "Ingress")["api-grpc"]
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/backend-protocol"] == "GRPC"
    assert ingress["spec"]["tls"][0]["hosts"] == [ingress["spec"]["rules"][0]["host"]]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "api", "port": {"name": "grpc"}}
    sources = [
        source
        for rule in objects(docs, "NetworkPolicy")["api"]["spec"]["ingress"]
        for source in rule["from"]
    ]
    controller = {"kubernetes.io/metadata.name": "ingress-nginx"}
    assert any(s.get("namespaceSelector", {}).get("matchLabels") == controller for s in sources)


def test_the_batch_job_validates_and_is_a_labelled_bulk_client(tmp_path: Path) -> None:
    docs = render(MANIFESTS / "jobs/batch")
    validate(docs, tmp_path, "jobs/batch")
    (job,) = objects(docs, "Job").values()
    assert job["spec"]["suspend"] is True  # started once the images are loaded
    loader = objects(docs, "Pod")["batch-loader"]
    claims = {v["persistentVolumeClaim"]["claimName"] for v in loader["spec"]["volumes"]}
    assert claims == {"batch-data"}
    pod = job["spec"]["template"]
    assert pod["metadata"]["labels"]["imagescaler.io/bulk-client"] == "true"
    (container,) = pod["spec"]["containers"]
    args = container["args"]
    assert args[0] == "batch" and "--server" in args and "--token-file" in args
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert "limits" in container["resources"]
