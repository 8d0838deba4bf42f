"""The benchmark run: in-process comparisons, pool kinds, end to end, memory, targets."""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from grpc_api.settings import ApiSettings
from image_service.settings import ImageServiceSettings
from imagescaler.cli.bench import inprocess, report
from imagescaler.cli.bench.batch_rows import measure_batch
from imagescaler.cli.bench.config import BenchConfig, LocalSystem
from imagescaler.cli.bench.inputs import PNG_LABEL, full_set, quick_set
from imagescaler.cli.bench.measures import (
    machine,
    measure_api_at_one,
    measure_end_to_end,
    measure_inprocess,
    measure_memory,
    measure_stream,
    measure_thumbor,
)
from imagescaler.cli.local_children import stop_children
from imagescaler.cli.local_system import start_all
from imagescaler.runtime.settings import available_cpus
from rest_gateway.identity import token_issuer
from rest_gateway.settings import GatewaySettings

MEMORY_LIMIT_MIB = 400


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
    results["machine"] = machine()
    print(f"machine: {results['machine']}", end="\n\n", flush=True)
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
        png = next((image for image in images if image.label == PNG_LABEL), None)
        if png is not None:
            results["end_to_end"][f"gRPC API, {PNG_LABEL}"] = measure_api_at_one(
                system, png, config
            )
        results["stream"] = measure_stream(system, main, config)
        results["batch"] = measure_batch(
            config.shared, system.api_address, 40 if config.quick else 2000
        )
        print(report.batch_text(results["batch"]), end="\n\n", flush=True)
        results["memory"] = measure_memory(system, large, config)
    if config.thumbor and not config.quick:
        results["end_to_end"].update(measure_thumbor(main, config))
    print(report.load_table(results["end_to_end"]), end="\n\n")
    print(report.memory_table(results["memory"], large.label), end="\n\n")
    checked = check_targets(results, main.label)
    results["targets"] = [target.as_dict() for target in checked]
    print(report.targets_table(checked, quick=config.quick))
    config.json_path.parent.mkdir(parents=True, exist_ok=True)
    config.json_path.write_text(json.dumps(results, indent=2))
    print(f"\nJSON written to {config.json_path}")
    return results


@contextmanager
def local_system() -> Iterator[LocalSystem]:
    """The services `imagescaler up` runs, on free ports, quiet, rate limits out of reach."""
    # Port 0 everywhere, metrics too: the defaults may be taken by a running `make run`.
    image = ImageServiceSettings(listen="127.0.0.1:0", metrics_listen="127.0.0.1:0")
    api = ApiSettings(listen="127.0.0.1:0", metrics_listen="127.0.0.1:0")
    gateway = GatewaySettings(listen="127.0.0.1:0", metrics_listen="127.0.0.1:0")
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
    threads = results["pool"]["threads"]
    for target, at_least in (("gRPC API", 0.8), ("REST gateway", 0.75)):
        c2 = next((r for r in e2e[target] if r["concurrency"] == 2), None)
        if c2 is not None:
            checked.append(
                report.Target(
                    f"{target} throughput at c=2 / pool of threads",
                    c2["requests_per_second"] / threads,
                    at_least,
                    at_least=True,
                )
            )
    png = {t["name"]: t["median_ms"] for t in results["inprocess"].get(PNG_LABEL, [])}
    if "pyvips thumbnail" in png:
        vips = png["pyvips thumbnail"]
        checked.append(report.Target(f"ours / pyvips, {PNG_LABEL}", png["ours"] / vips, 1.0))
        png_c1 = e2e.get(f"gRPC API, {PNG_LABEL}", [])
        if png_c1:
            checked.append(
                report.Target(
                    f"gRPC API end to end (c=1 p50) / pyvips, {PNG_LABEL}",
                    png_c1[0]["p50_ms"] / vips,
                    1.2,
                )
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
    for batch in results["batch"]:
        pool, name = batch["pool_images_per_second"], batch["profile"]
        for where, limit in (("local", 0.9), ("server", 0.75)):
            rate = batch[where]["run_images_per_second"]
            target = f"batch --{where} {name} (run) / in-process pool"
            checked.append(report.Target(target, rate / pool, limit, at_least=True))
    stream = results["stream"]
    checked.append(
        report.Target(
            "PreprocessStream / in-process pool",
            stream["images_per_second"] / stream["pool_images_per_second"],
            0.85,
            at_least=True,
        )
    )
    checked.append(
        report.Target(
            "image service peak RSS", results["memory"]["peak_rss_mib"], MEMORY_LIMIT_MIB, "MiB"
        )
    )
    return checked
