"""The benchmark run: in-process comparisons, pool kinds, end to end, memory, targets."""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from grpc_api.settings import ApiSettings
from image_service.settings import ImageServiceSettings
from imagescaler.cli.bench import inprocess, report
from imagescaler.cli.bench.closed_loop import run_closed_loop
from imagescaler.cli.bench.inputs import BenchImage, full_set, quick_set
from imagescaler.cli.bench.memory import MemorySampler
from imagescaler.cli.bench.thumbor_fleet import ensure_thumbor, thumbor_fleet
from imagescaler.cli.load import targets
from imagescaler.cli.load.stats import percentile
from imagescaler.cli.local_children import stop_children
from imagescaler.cli.local_system import start_all
from imagescaler.runtime.settings import available_cpus
from rest_gateway.identity import token_issuer
from rest_gateway.settings import GatewaySettings

MEMORY_LIMIT_MIB = 400


@dataclass(frozen=True)
class BenchConfig:
    quick: bool
    seconds: float
    memory_seconds: float
    concurrencies: tuple[int, ...]
    repeats: int
    thumbor: bool
    shared: Path
    json_path: Path


@dataclass
class LocalSystem:
    api_address: str
    gateway_url: str
    token: str
    pids: dict[str, int]


def run(config: BenchConfig) -> dict[str, Any]:
    images = quick_set(config.shared) if config.quick else full_set(config.shared)
    main, large = images[0], (images[0] if config.quick else images[1])
    results: dict[str, Any] = {
        "config": {
            **asdict(config),
            "shared": str(config.shared),
            "json_path": str(config.json_path),
        }
    }
    results["inprocess"] = measure_inprocess(images, config.repeats)
    print(report.inprocess_table(results["inprocess"]), end="\n\n", flush=True)
    results["pool"] = inprocess.pool_throughput(
        main.data, available_cpus(), 4 if config.quick else 24
    )
    print(
        f"pool of {available_cpus()}: "
        + ", ".join(f"{kind} {rate:.1f} images/s" for kind, rate in results["pool"].items()),
        end="\n\n",
    )
    with local_system() as system:
        results["end_to_end"] = measure_end_to_end(system, main, config)
        results["memory"] = measure_memory(system, large, config)
    if config.thumbor and not config.quick:
        results["end_to_end"].update(measure_thumbor(main, config))
    print(report.load_table(results["end_to_end"]), end="\n\n")
    print(report.memory_table(results["memory"], large.label), end="\n\n")
    checked = check_targets(results, main.label)
    results["targets"] = [target.as_dict() for target in checked]
    print(report.targets_table(checked))
    config.json_path.parent.mkdir(parents=True, exist_ok=True)
    config.json_path.write_text(json.dumps(results, indent=2))
    print(f"\nJSON written to {config.json_path}")
    return results


def measure_inprocess(images: list[BenchImage], repeats: int) -> dict[str, list[dict[str, Any]]]:
    return {
        image.label: [
            {"name": t.name, "median_ms": round(t.median, 2), "best_ms": round(t.best, 2)}
            for t in inprocess.compare(image.data, repeats, image.is_jpeg)
        ]
        for image in images
    }


@contextmanager
def local_system() -> Iterator[LocalSystem]:
    """The services `imagescaler up` runs, on free ports, quiet, rate limits out of reach."""
    # Metrics on ports the system picks: the defaults may be taken by a running `make run`.
    # Port 0 everywhere: the defaults may be taken by a running `make run`.
    image = ImageServiceSettings(listen="127.0.0.1:0", metrics_listen="127.0.0.1:0")
    api = ApiSettings(listen="127.0.0.1:0", metrics_listen="127.0.0.1:0")
    gateway = GatewaySettings(listen="127.0.0.1:0")
    with tempfile.TemporaryDirectory() as state_dir:
        state = Path(state_dir) / "dev-state.json"
        system = start_all(
            image,
            api,
            gateway,
            str(state),
            gateway_flags=("--rate-limit", "1000000/minute"),
            quiet=True,
        )
        try:
            issuer = token_issuer(GatewaySettings(dev_state_file=state))
            pids = {
                name: child.process.pid
                for name, child in zip(
                    ("image service", "API", "gateway"), system.children, strict=True
                )
            }
            yield LocalSystem(
                system.api.address(),
                f"http://{system.gateway.address()}",
                issuer.issue("bench").access_token,
                pids,
            )
        finally:
            stop_children(system.children, 15)


def measure_end_to_end(
    system: LocalSystem, image: BenchImage, config: BenchConfig
) -> dict[str, list[dict[str, Any]]]:
    data = image.data
    factories = {
        "gRPC API": targets.grpc_api(system.api_address, data),
        "REST gateway": targets.rest_gateway(system.gateway_url, system.token, data),
    }
    return {
        name: [run_closed_loop(factory, c, config.seconds).as_dict() for c in config.concurrencies]
        for name, factory in factories.items()
    }


def measure_memory(system: LocalSystem, image: BenchImage, config: BenchConfig) -> dict[str, Any]:
    """A steady load through the REST gateway (so every service works): memory of each
    service over time, and p99 of the first and the second half of the run."""
    factory = targets.rest_gateway(system.gateway_url, system.token, image.data)
    samplers = {name: MemorySampler(pid) for name, pid in system.pids.items()}
    for sampler in samplers.values():
        sampler.__enter__()
    try:
        load = run_closed_loop(factory, 4, config.memory_seconds)
    finally:
        for sampler in samplers.values():
            sampler.__exit__(None, None, None)
    half = len(load.latencies_ms) // 2
    return {
        "services": {name: sampler.trace.as_dict() for name, sampler in samplers.items()},
        "seconds": round(load.seconds, 1),
        "requests": len(load.latencies_ms),
        "p99_ms_first_half": round(percentile(load.latencies_ms[:half], 0.99), 1),
        "p99_ms_second_half": round(percentile(load.latencies_ms[half:], 0.99), 1),
        "errors": load.errors,
        # kept for the target row: the image service is the one that holds pixels
        "peak_rss_mib": samplers["image service"].trace.as_dict()["peak_rss_mib"],
    }


def measure_thumbor(image: BenchImage, config: BenchConfig) -> dict[str, list[dict[str, Any]]]:
    log = Path(".bench") / "thumbor-install.log"
    log.parent.mkdir(exist_ok=True)
    command = ensure_thumbor(log)
    if command is None:
        print(f"thumbor could not be installed; see {log}")
        return {}
    with (
        tempfile.TemporaryDirectory() as workdir,
        thumbor_fleet(command, image.path.parent, available_cpus(), Path(workdir)) as ports,
    ):
        factory = targets.thumbor(ports, image.path)
        return {
            "thumbor": [
                run_closed_loop(factory, c, config.seconds).as_dict() for c in config.concurrencies
            ]
        }


def check_targets(results: dict[str, Any], main_label: str) -> list[report.Target]:
    timings = {t["name"]: t["median_ms"] for t in results["inprocess"][main_label]}
    ours = timings["ours"]
    checked = []
    if "libjpeg-turbo floor" in timings:
        checked.append(
            report.Target("ours / libjpeg-turbo floor", ours / timings["libjpeg-turbo floor"], 1.25)
        )
    if "pyvips thumbnail" in timings:
        checked.append(report.Target("ours / pyvips", ours / timings["pyvips thumbnail"], 0.6))
    e2e = results["end_to_end"]
    grpc_c1 = next(r for r in e2e["gRPC API"] if r["concurrency"] == 1)
    checked.append(
        report.Target("gRPC API end to end (c=1 p50) / processing", grpc_c1["p50_ms"] / ours, 1.15)
    )
    for rest, thumb in zip(e2e["REST gateway"], e2e.get("thumbor", []), strict=False):
        ratio = (
            thumb["requests_per_second"] / rest["requests_per_second"]
            if rest["requests_per_second"]
            else math.nan
        )
        checked.append(
            report.Target(f"thumbor / REST throughput at c={rest['concurrency']}", ratio, 0.5)
        )
    checked.append(
        report.Target(
            "image service peak RSS", results["memory"]["peak_rss_mib"], MEMORY_LIMIT_MIB, "MiB"
        )
    )
    return checked
